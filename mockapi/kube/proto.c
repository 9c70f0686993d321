/* proto.c -- Kubernetes protobuf request bodies to JSON: a wire reader and a table per message */
#include "mockapi/kube/proto.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Caps. The tables below nest at most 9 messages deep (Pod, spec, volumes[], the inlined volume
 * source, projected, sources[], downwardAPI, items[], resourceFieldRef), so MAX_DEPTH only matters
 * if a recursive table is ever added: it keeps that from recursing as deep as the input says.
 * MAX_NODES bounds the memory one body can cost (a 2-byte field makes one cJSON node of ~64 bytes);
 * MAX_MAP_ENTRIES bounds the quadratic duplicate-key check of one map. */
#define MAX_DEPTH 32
#define MAX_NODES 100000
#define MAX_MAP_ENTRIES 4096
#define MAX_VARINT_BYTES 10

static const char MAGIC[4] = {'k', '8', 's', '\0'};

/* Go's time.Time zero value (0001-01-01T00:00:00Z) in Unix seconds, and the range RFC 3339 can
 * print (0000-01-01T00:00:00Z to 9999-12-31T23:59:59Z), as Go's Time.MarshalJSON enforces. */
#define GO_ZERO_TIME (-62135596800LL)
#define MIN_TIME (-62167219200LL)
#define MAX_TIME 253402300799LL

enum wire_type { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_SGROUP = 3, WT_EGROUP = 4, WT_I32 = 5 };

enum field_type {
    FT_STRING,    /* string -> JSON string */
    FT_INT32,     /* int32 -> JSON number */
    FT_INT64,     /* int64 -> JSON number */
    FT_BOOL,      /* bool -> true/false */
    FT_MSG,       /* message -> JSON object */
    FT_INLINE,    /* embedded Go struct (json:",inline"): its fields land in the parent object */
    FT_MAP_STR,   /* map<string, string> -> object of strings */
    FT_MAP_BYTES, /* map<string, bytes> -> object of base64 strings */
    FT_MAP_QTY,   /* map<string, resource.Quantity> -> object of quantity strings */
    FT_QTY,       /* resource.Quantity {1 string} -> "100m" */
    FT_INTSTR,    /* intstr.IntOrString {1 type, 2 intVal, 3 strVal} -> 8080 or "http" */
    FT_TIME,      /* meta.Time {1 seconds, 2 nanos} -> "2006-01-02T15:04:05Z"; left out when zero */
    FT_MICROTIME, /* meta.MicroTime -> "2006-01-02T15:04:05.000000Z"; left out when zero */
};

/* F_REP: repeated, every occurrence appends to a JSON array. F_KEEP: zero values found on the wire
 * are kept (a Go pointer, or a field without omitempty); without it they are left out. */
#define F_REP 1u
#define F_KEEP 2u

struct msg;

struct field {
    uint32_t num;          /* protobuf field number */
    const char *json;      /* Kubernetes JSON name */
    uint8_t type;          /* enum field_type */
    uint8_t flags;         /* F_REP, F_KEEP */
    const struct msg *sub; /* FT_MSG and FT_INLINE only */
};

struct msg {
    const char *name; /* Kubernetes type name, for error messages */
    const struct field *fields;
    size_t nfields;
};

#define FLD(n, j, t, fl)                                                                           \
    {                                                                                              \
        (n), (j), (t), (fl), NULL                                                                  \
    }
#define SUB(n, j, t, fl, s)                                                                        \
    {                                                                                              \
        (n), (j), (t), (fl), &m_##s                                                                \
    }
#define MSG(id, name)                                                                              \
    static const struct msg m_##id = {name, f_##id, sizeof f_##id / sizeof f_##id[0]}

/* Shorthands for the common rows. K = kept when zero (pointer or no omitempty), R = repeated. */
#define STR(n, j) FLD(n, j, FT_STRING, 0)
#define STR_K(n, j) FLD(n, j, FT_STRING, F_KEEP)
#define STR_R(n, j) FLD(n, j, FT_STRING, F_REP)
#define I32(n, j) FLD(n, j, FT_INT32, 0)
#define I32_K(n, j) FLD(n, j, FT_INT32, F_KEEP)
#define I64(n, j) FLD(n, j, FT_INT64, 0)
#define I64_K(n, j) FLD(n, j, FT_INT64, F_KEEP)
#define BOOL(n, j) FLD(n, j, FT_BOOL, 0)
#define BOOL_K(n, j) FLD(n, j, FT_BOOL, F_KEEP)
#define OBJ(n, j, s) SUB(n, j, FT_MSG, 0, s)
#define OBJ_R(n, j, s) SUB(n, j, FT_MSG, F_REP, s)
#define INLINE(n, s) SUB(n, "", FT_INLINE, 0, s)

/* A message whose contents are dropped: statuses, which clients send empty. Decodes to {} as Go's
 * JSON does. */
static const struct field f_dropped[] = {{0, "", FT_STRING, 0, NULL}};
static const struct msg m_dropped = {"status", f_dropped, 0};

/* ---- k8s.io/apimachinery/pkg/apis/meta/v1 ---- */

static const struct field f_owner_ref[] = {
    STR_K(5, "apiVersion"), STR_K(1, "kind"),        STR_K(3, "name"),
    STR_K(4, "uid"),        BOOL_K(6, "controller"), BOOL_K(7, "blockOwnerDeletion"),
};
MSG(owner_ref, "OwnerReference");

static const struct field f_object_meta[] = {
    STR(1, "name"),
    STR(2, "generateName"),
    STR(3, "namespace"),
    STR(4, "selfLink"),
    STR(5, "uid"),
    STR(6, "resourceVersion"),
    I64(7, "generation"),
    FLD(8, "creationTimestamp", FT_TIME, 0),
    FLD(9, "deletionTimestamp", FT_TIME, 0),
    I64_K(10, "deletionGracePeriodSeconds"),
    FLD(11, "labels", FT_MAP_STR, 0),
    FLD(12, "annotations", FT_MAP_STR, 0),
    OBJ_R(13, "ownerReferences", owner_ref),
    STR_R(14, "finalizers"),
};
MSG(object_meta, "ObjectMeta");

static const struct field f_label_selector_req[] = {
    STR_K(1, "key"),
    STR_K(2, "operator"),
    STR_R(3, "values"),
};
MSG(label_selector_req, "LabelSelectorRequirement");

static const struct field f_label_selector[] = {
    FLD(1, "matchLabels", FT_MAP_STR, 0),
    OBJ_R(2, "matchExpressions", label_selector_req),
};
MSG(label_selector, "LabelSelector");

static const struct field f_preconditions[] = {
    STR_K(1, "uid"),
    STR_K(2, "resourceVersion"),
};
MSG(preconditions, "Preconditions");

static const struct field f_delete_options[] = {
    I64_K(1, "gracePeriodSeconds"),
    OBJ(2, "preconditions", preconditions),
    BOOL_K(3, "orphanDependents"),
    STR_K(4, "propagationPolicy"),
    STR_R(5, "dryRun"),
};
MSG(delete_options, "DeleteOptions");

/* ---- k8s.io/api/core/v1: references and selectors ---- */

static const struct field f_local_ref[] = {STR(1, "name")};
MSG(local_ref, "LocalObjectReference");

static const struct field f_object_ref[] = {
    STR(1, "kind"),       STR(2, "namespace"),       STR(3, "name"),      STR(4, "uid"),
    STR(5, "apiVersion"), STR(6, "resourceVersion"), STR(7, "fieldPath"),
};
MSG(object_ref, "ObjectReference");

static const struct field f_key_to_path[] = {STR_K(1, "key"), STR_K(2, "path"), I32_K(3, "mode")};
MSG(key_to_path, "KeyToPath");

static const struct field f_object_field_sel[] = {STR(1, "apiVersion"), STR_K(2, "fieldPath")};
MSG(object_field_sel, "ObjectFieldSelector");

static const struct field f_resource_field_sel[] = {
    STR(1, "containerName"),
    STR_K(2, "resource"),
    FLD(3, "divisor", FT_QTY, 0),
};
MSG(resource_field_sel, "ResourceFieldSelector");

static const struct field f_key_sel[] = {INLINE(1, local_ref), STR_K(2, "key"),
                                         BOOL_K(3, "optional")};
MSG(key_sel, "KeySelector"); /* SecretKeySelector and ConfigMapKeySelector share their numbers */

static const struct field f_file_key_sel[] = {
    STR_K(1, "volumeName"),
    STR_K(2, "path"),
    STR_K(3, "key"),
    BOOL_K(4, "optional"),
};
MSG(file_key_sel, "FileKeySelector");

/* ---- containers ---- */

static const struct field f_env_var_source[] = {
    OBJ(1, "fieldRef", object_field_sel), OBJ(2, "resourceFieldRef", resource_field_sel),
    OBJ(3, "configMapKeyRef", key_sel),   OBJ(4, "secretKeyRef", key_sel),
    OBJ(5, "fileKeyRef", file_key_sel),
};
MSG(env_var_source, "EnvVarSource");

static const struct field f_env_var[] = {
    STR_K(1, "name"),
    STR(2, "value"),
    OBJ(3, "valueFrom", env_var_source),
};
MSG(env_var, "EnvVar");

static const struct field f_env_source[] = {INLINE(1, local_ref), BOOL_K(2, "optional")};
MSG(env_source, "EnvSource"); /* ConfigMapEnvSource and SecretEnvSource share their numbers */

static const struct field f_env_from[] = {
    STR(1, "prefix"),
    OBJ(2, "configMapRef", env_source),
    OBJ(3, "secretRef", env_source),
};
MSG(env_from, "EnvFromSource");

static const struct field f_container_port[] = {
    STR(1, "name"),     I32(2, "hostPort"), I32_K(3, "containerPort"),
    STR(4, "protocol"), STR(5, "hostIP"),
};
MSG(container_port, "ContainerPort");

static const struct field f_resource_claim[] = {STR_K(1, "name"), STR(2, "request")};
MSG(resource_claim, "ResourceClaim");

static const struct field f_resources[] = {
    FLD(1, "limits", FT_MAP_QTY, 0),
    FLD(2, "requests", FT_MAP_QTY, 0),
    OBJ_R(3, "claims", resource_claim),
};
MSG(resources, "ResourceRequirements");

static const struct field f_volume_mount[] = {
    STR_K(1, "name"),
    BOOL(2, "readOnly"),
    STR_K(3, "mountPath"),
    STR(4, "subPath"),
    STR_K(5, "mountPropagation"),
    STR(6, "subPathExpr"),
    STR_K(7, "recursiveReadOnly"),
};
MSG(volume_mount, "VolumeMount");

static const struct field f_volume_device[] = {STR_K(1, "name"), STR_K(2, "devicePath")};
MSG(volume_device, "VolumeDevice");

static const struct field f_exec_action[] = {STR_R(1, "command")};
MSG(exec_action, "ExecAction");

static const struct field f_http_header[] = {STR_K(1, "name"), STR_K(2, "value")};
MSG(http_header, "HTTPHeader");

static const struct field f_http_get[] = {
    STR(1, "path"),   FLD(2, "port", FT_INTSTR, 0),         STR(3, "host"),
    STR(4, "scheme"), OBJ_R(5, "httpHeaders", http_header),
};
MSG(http_get, "HTTPGetAction");

static const struct field f_tcp_socket[] = {FLD(1, "port", FT_INTSTR, 0), STR(2, "host")};
MSG(tcp_socket, "TCPSocketAction");

static const struct field f_sleep_action[] = {I64_K(1, "seconds")};
MSG(sleep_action, "SleepAction");

static const struct field f_grpc_action[] = {I32_K(1, "port"), STR_K(2, "service")};
MSG(grpc_action, "GRPCAction");

static const struct field f_lifecycle_handler[] = {
    OBJ(1, "exec", exec_action),
    OBJ(2, "httpGet", http_get),
    OBJ(3, "tcpSocket", tcp_socket),
    OBJ(4, "sleep", sleep_action),
};
MSG(lifecycle_handler, "LifecycleHandler");

static const struct field f_lifecycle[] = {
    OBJ(1, "postStart", lifecycle_handler),
    OBJ(2, "preStop", lifecycle_handler),
    STR_K(3, "stopSignal"),
};
MSG(lifecycle, "Lifecycle");

static const struct field f_probe_handler[] = {
    OBJ(1, "exec", exec_action),
    OBJ(2, "httpGet", http_get),
    OBJ(3, "tcpSocket", tcp_socket),
    OBJ(4, "grpc", grpc_action),
};
MSG(probe_handler, "ProbeHandler");

static const struct field f_probe[] = {
    INLINE(1, probe_handler),
    I32(2, "initialDelaySeconds"),
    I32(3, "timeoutSeconds"),
    I32(4, "periodSeconds"),
    I32(5, "successThreshold"),
    I32(6, "failureThreshold"),
    I64_K(7, "terminationGracePeriodSeconds"),
};
MSG(probe, "Probe");

static const struct field f_capabilities[] = {STR_R(1, "add"), STR_R(2, "drop")};
MSG(capabilities, "Capabilities");

static const struct field f_se_linux[] = {STR(1, "user"), STR(2, "role"), STR(3, "type"),
                                          STR(4, "level")};
MSG(se_linux, "SELinuxOptions");

static const struct field f_windows_opts[] = {
    STR_K(1, "gmsaCredentialSpecName"),
    STR_K(2, "gmsaCredentialSpec"),
    STR_K(3, "runAsUserName"),
    BOOL_K(4, "hostProcess"),
};
MSG(windows_opts, "WindowsSecurityContextOptions");

static const struct field f_profile[] = {STR_K(1, "type"), STR_K(2, "localhostProfile")};
MSG(profile, "Profile"); /* SeccompProfile and AppArmorProfile share their numbers */

static const struct field f_security_context[] = {
    OBJ(1, "capabilities", capabilities),
    BOOL_K(2, "privileged"),
    OBJ(3, "seLinuxOptions", se_linux),
    I64_K(4, "runAsUser"),
    BOOL_K(5, "runAsNonRoot"),
    BOOL_K(6, "readOnlyRootFilesystem"),
    BOOL_K(7, "allowPrivilegeEscalation"),
    I64_K(8, "runAsGroup"),
    STR_K(9, "procMount"),
    OBJ(10, "windowsOptions", windows_opts),
    OBJ(11, "seccompProfile", profile),
    OBJ(12, "appArmorProfile", profile),
};
MSG(security_context, "SecurityContext");

static const struct field f_container[] = {
    STR_K(1, "name"),
    STR(2, "image"),
    STR_R(3, "command"),
    STR_R(4, "args"),
    STR(5, "workingDir"),
    OBJ_R(6, "ports", container_port),
    OBJ_R(7, "env", env_var),
    OBJ(8, "resources", resources),
    OBJ_R(9, "volumeMounts", volume_mount),
    OBJ(10, "livenessProbe", probe),
    OBJ(11, "readinessProbe", probe),
    OBJ(12, "lifecycle", lifecycle),
    STR(13, "terminationMessagePath"),
    STR(14, "imagePullPolicy"),
    OBJ(15, "securityContext", security_context),
    BOOL(16, "stdin"),
    BOOL(17, "stdinOnce"),
    BOOL(18, "tty"),
    OBJ_R(19, "envFrom", env_from),
    STR(20, "terminationMessagePolicy"),
    OBJ_R(21, "volumeDevices", volume_device),
    OBJ(22, "startupProbe", probe),
    STR_K(24, "restartPolicy"),
};
MSG(container, "Container");

/* ---- volumes ---- */

static const struct field f_host_path[] = {STR_K(1, "path"), STR_K(2, "type")};
MSG(host_path, "HostPathVolumeSource");

static const struct field f_empty_dir[] = {STR(1, "medium"), FLD(2, "sizeLimit", FT_QTY, 0)};
MSG(empty_dir, "EmptyDirVolumeSource");

static const struct field f_secret_vol[] = {
    STR(1, "secretName"),
    OBJ_R(2, "items", key_to_path),
    I32_K(3, "defaultMode"),
    BOOL_K(4, "optional"),
};
MSG(secret_vol, "SecretVolumeSource");

static const struct field f_nfs[] = {STR_K(1, "server"), STR_K(2, "path"), BOOL(3, "readOnly")};
MSG(nfs, "NFSVolumeSource");

static const struct field f_pvc_vol[] = {STR_K(1, "claimName"), BOOL(2, "readOnly")};
MSG(pvc_vol, "PersistentVolumeClaimVolumeSource");

static const struct field f_downward_file[] = {
    STR_K(1, "path"),
    OBJ(2, "fieldRef", object_field_sel),
    OBJ(3, "resourceFieldRef", resource_field_sel),
    I32_K(4, "mode"),
};
MSG(downward_file, "DownwardAPIVolumeFile");

static const struct field f_downward_vol[] = {OBJ_R(1, "items", downward_file),
                                              I32_K(2, "defaultMode")};
MSG(downward_vol, "DownwardAPIVolumeSource");

/* ConfigMapVolumeSource; ConfigMapProjection and SecretProjection use the same numbers minus
 * defaultMode. */
static const struct field f_ref_items_vol[] = {
    INLINE(1, local_ref),
    OBJ_R(2, "items", key_to_path),
    I32_K(3, "defaultMode"),
    BOOL_K(4, "optional"),
};
MSG(ref_items_vol, "ConfigMapVolumeSource");

static const struct field f_downward_proj[] = {OBJ_R(1, "items", downward_file)};
MSG(downward_proj, "DownwardAPIProjection");

static const struct field f_sa_token_proj[] = {
    STR(1, "audience"),
    I64_K(2, "expirationSeconds"),
    STR_K(3, "path"),
};
MSG(sa_token_proj, "ServiceAccountTokenProjection");

static const struct field f_volume_proj[] = {
    OBJ(1, "secret", ref_items_vol),
    OBJ(2, "downwardAPI", downward_proj),
    OBJ(3, "configMap", ref_items_vol),
    OBJ(4, "serviceAccountToken", sa_token_proj),
};
MSG(volume_proj, "VolumeProjection");

static const struct field f_projected[] = {OBJ_R(1, "sources", volume_proj),
                                           I32_K(2, "defaultMode")};
MSG(projected, "ProjectedVolumeSource");

static const struct field f_csi_vol[] = {
    STR_K(1, "driver"),
    BOOL_K(2, "readOnly"),
    STR_K(3, "fsType"),
    FLD(4, "volumeAttributes", FT_MAP_STR, 0),
    OBJ(5, "nodePublishSecretRef", local_ref),
};
MSG(csi_vol, "CSIVolumeSource");

static const struct field f_image_vol[] = {STR(1, "reference"), STR(2, "pullPolicy")};
MSG(image_vol, "ImageVolumeSource");

static const struct field f_volume_source[] = {
    OBJ(1, "hostPath", host_path),
    OBJ(2, "emptyDir", empty_dir),
    OBJ(6, "secret", secret_vol),
    OBJ(7, "nfs", nfs),
    OBJ(10, "persistentVolumeClaim", pvc_vol),
    OBJ(16, "downwardAPI", downward_vol),
    OBJ(19, "configMap", ref_items_vol),
    OBJ(26, "projected", projected),
    OBJ(28, "csi", csi_vol),
    OBJ(30, "image", image_vol),
};
MSG(volume_source, "VolumeSource");

static const struct field f_volume[] = {STR_K(1, "name"), INLINE(2, volume_source)};
MSG(volume, "Volume");

/* ---- pod spec ---- */

static const struct field f_sysctl[] = {STR_K(1, "name"), STR_K(2, "value")};
MSG(sysctl, "Sysctl");

static const struct field f_pod_security_context[] = {
    OBJ(1, "seLinuxOptions", se_linux),
    I64_K(2, "runAsUser"),
    BOOL_K(3, "runAsNonRoot"),
    FLD(4, "supplementalGroups", FT_INT64, F_REP),
    I64_K(5, "fsGroup"),
    I64_K(6, "runAsGroup"),
    OBJ_R(7, "sysctls", sysctl),
    OBJ(8, "windowsOptions", windows_opts),
    STR_K(9, "fsGroupChangePolicy"),
    OBJ(10, "seccompProfile", profile),
    OBJ(11, "appArmorProfile", profile),
    STR_K(12, "supplementalGroupsPolicy"),
    STR_K(13, "seLinuxChangePolicy"),
};
MSG(pod_security_context, "PodSecurityContext");

static const struct field f_toleration[] = {
    STR(1, "key"),
    STR(2, "operator"),
    STR(3, "value"),
    STR(4, "effect"),
    I64_K(5, "tolerationSeconds"),
};
MSG(toleration, "Toleration");

static const struct field f_host_alias[] = {STR_K(1, "ip"), STR_R(2, "hostnames")};
MSG(host_alias, "HostAlias");

static const struct field f_dns_option[] = {STR(1, "name"), STR_K(2, "value")};
MSG(dns_option, "PodDNSConfigOption");

static const struct field f_dns_config[] = {
    STR_R(1, "nameservers"),
    STR_R(2, "searches"),
    OBJ_R(3, "options", dns_option),
};
MSG(dns_config, "PodDNSConfig");

static const struct field f_readiness_gate[] = {STR_K(1, "conditionType")};
MSG(readiness_gate, "PodReadinessGate");

static const struct field f_node_sel_req[] = {STR_K(1, "key"), STR_K(2, "operator"),
                                              STR_R(3, "values")};
MSG(node_sel_req, "NodeSelectorRequirement");

static const struct field f_node_sel_term[] = {
    OBJ_R(1, "matchExpressions", node_sel_req),
    OBJ_R(2, "matchFields", node_sel_req),
};
MSG(node_sel_term, "NodeSelectorTerm");

static const struct field f_node_selector[] = {OBJ_R(1, "nodeSelectorTerms", node_sel_term)};
MSG(node_selector, "NodeSelector");

static const struct field f_preferred_term[] = {I32_K(1, "weight"),
                                                OBJ(2, "preference", node_sel_term)};
MSG(preferred_term, "PreferredSchedulingTerm");

static const struct field f_node_affinity[] = {
    OBJ(1, "requiredDuringSchedulingIgnoredDuringExecution", node_selector),
    OBJ_R(2, "preferredDuringSchedulingIgnoredDuringExecution", preferred_term),
};
MSG(node_affinity, "NodeAffinity");

static const struct field f_pod_affinity_term[] = {
    OBJ(1, "labelSelector", label_selector),
    STR_R(2, "namespaces"),
    STR_K(3, "topologyKey"),
    OBJ(4, "namespaceSelector", label_selector),
    STR_R(5, "matchLabelKeys"),
    STR_R(6, "mismatchLabelKeys"),
};
MSG(pod_affinity_term, "PodAffinityTerm");

static const struct field f_weighted_term[] = {
    I32_K(1, "weight"),
    OBJ(2, "podAffinityTerm", pod_affinity_term),
};
MSG(weighted_term, "WeightedPodAffinityTerm");

static const struct field f_pod_affinity[] = {
    OBJ_R(1, "requiredDuringSchedulingIgnoredDuringExecution", pod_affinity_term),
    OBJ_R(2, "preferredDuringSchedulingIgnoredDuringExecution", weighted_term),
};
MSG(pod_affinity, "PodAffinity"); /* PodAntiAffinity shares its numbers */

static const struct field f_affinity[] = {
    OBJ(1, "nodeAffinity", node_affinity),
    OBJ(2, "podAffinity", pod_affinity),
    OBJ(3, "podAntiAffinity", pod_affinity),
};
MSG(affinity, "Affinity");

static const struct field f_topology_spread[] = {
    I32_K(1, "maxSkew"),           STR_K(2, "topologyKey"),
    STR_K(3, "whenUnsatisfiable"), OBJ(4, "labelSelector", label_selector),
    I32_K(5, "minDomains"),        STR_K(6, "nodeAffinityPolicy"),
    STR_K(7, "nodeTaintsPolicy"),  STR_R(8, "matchLabelKeys"),
};
MSG(topology_spread, "TopologySpreadConstraint");

static const struct field f_name_only[] = {STR_K(1, "name")};
MSG(name_only, "PodOS"); /* PodOS and PodSchedulingGate: {1 name} */

static const struct field f_pod_spec[] = {
    OBJ_R(1, "volumes", volume),
    OBJ_R(2, "containers", container),
    STR(3, "restartPolicy"),
    I64_K(4, "terminationGracePeriodSeconds"),
    I64_K(5, "activeDeadlineSeconds"),
    STR(6, "dnsPolicy"),
    FLD(7, "nodeSelector", FT_MAP_STR, 0),
    STR(8, "serviceAccountName"),
    STR(9, "serviceAccount"),
    STR(10, "nodeName"),
    BOOL(11, "hostNetwork"),
    BOOL(12, "hostPID"),
    BOOL(13, "hostIPC"),
    OBJ(14, "securityContext", pod_security_context),
    OBJ_R(15, "imagePullSecrets", local_ref),
    STR(16, "hostname"),
    STR(17, "subdomain"),
    OBJ(18, "affinity", affinity),
    STR(19, "schedulerName"),
    OBJ_R(20, "initContainers", container),
    BOOL_K(21, "automountServiceAccountToken"),
    OBJ_R(22, "tolerations", toleration),
    OBJ_R(23, "hostAliases", host_alias),
    STR(24, "priorityClassName"),
    I32_K(25, "priority"),
    OBJ(26, "dnsConfig", dns_config),
    BOOL_K(27, "shareProcessNamespace"),
    OBJ_R(28, "readinessGates", readiness_gate),
    STR_K(29, "runtimeClassName"),
    BOOL_K(30, "enableServiceLinks"),
    STR_K(31, "preemptionPolicy"),
    FLD(32, "overhead", FT_MAP_QTY, 0),
    OBJ_R(33, "topologySpreadConstraints", topology_spread),
    BOOL_K(35, "setHostnameAsFQDN"),
    OBJ(36, "os", name_only),
    BOOL_K(37, "hostUsers"),
    OBJ_R(38, "schedulingGates", name_only),
    OBJ(40, "resources", resources),
    STR_K(41, "hostnameOverride"),
};
MSG(pod_spec, "PodSpec");

static const struct field f_pod[] = {
    OBJ(1, "metadata", object_meta),
    OBJ(2, "spec", pod_spec),
    OBJ(3, "status", dropped),
};
MSG(pod, "Pod");

/* ---- the other core kinds ---- */

static const struct field f_secret[] = {
    OBJ(1, "metadata", object_meta),     FLD(2, "data", FT_MAP_BYTES, 0), STR(3, "type"),
    FLD(4, "stringData", FT_MAP_STR, 0), BOOL_K(5, "immutable"),
};
MSG(secret, "Secret");

static const struct field f_config_map[] = {
    OBJ(1, "metadata", object_meta),
    FLD(2, "data", FT_MAP_STR, 0),
    FLD(3, "binaryData", FT_MAP_BYTES, 0),
    BOOL_K(4, "immutable"),
};
MSG(config_map, "ConfigMap");

static const struct field f_service_port[] = {
    STR(1, "name"),     STR(2, "protocol"),
    I32_K(3, "port"),   FLD(4, "targetPort", FT_INTSTR, 0),
    I32(5, "nodePort"), STR_K(6, "appProtocol"),
};
MSG(service_port, "ServicePort");

static const struct field f_client_ip_config[] = {I32_K(1, "timeoutSeconds")};
MSG(client_ip_config, "ClientIPConfig");

static const struct field f_session_affinity_config[] = {OBJ(1, "clientIP", client_ip_config)};
MSG(session_affinity_config, "SessionAffinityConfig");

static const struct field f_service_spec[] = {
    OBJ_R(1, "ports", service_port),
    FLD(2, "selector", FT_MAP_STR, 0),
    STR(3, "clusterIP"),
    STR(4, "type"),
    STR_R(5, "externalIPs"),
    STR(7, "sessionAffinity"),
    STR(8, "loadBalancerIP"),
    STR_R(9, "loadBalancerSourceRanges"),
    STR(10, "externalName"),
    STR(11, "externalTrafficPolicy"),
    I32(12, "healthCheckNodePort"),
    BOOL(13, "publishNotReadyAddresses"),
    OBJ(14, "sessionAffinityConfig", session_affinity_config),
    STR_K(17, "ipFamilyPolicy"),
    STR_R(18, "clusterIPs"),
    STR_R(19, "ipFamilies"),
    BOOL_K(20, "allocateLoadBalancerNodePorts"),
    STR_K(21, "loadBalancerClass"),
    STR_K(22, "internalTrafficPolicy"),
    STR_K(23, "trafficDistribution"),
};
MSG(service_spec, "ServiceSpec");

static const struct field f_service[] = {
    OBJ(1, "metadata", object_meta),
    OBJ(2, "spec", service_spec),
    OBJ(3, "status", dropped),
};
MSG(service, "Service");

static const struct field f_namespace_spec[] = {STR_R(1, "finalizers")};
MSG(namespace_spec, "NamespaceSpec");

static const struct field f_namespace[] = {
    OBJ(1, "metadata", object_meta),
    OBJ(2, "spec", namespace_spec),
    OBJ(3, "status", dropped),
};
MSG(namespace, "Namespace");

static const struct field f_service_account[] = {
    OBJ(1, "metadata", object_meta),
    OBJ_R(2, "secrets", object_ref),
    OBJ_R(3, "imagePullSecrets", local_ref),
    BOOL_K(4, "automountServiceAccountToken"),
};
MSG(service_account, "ServiceAccount");

static const struct field f_event_source[] = {STR(1, "component"), STR(2, "host")};
MSG(event_source, "EventSource");

static const struct field f_event_series[] = {
    I32(1, "count"),
    FLD(2, "lastObservedTime", FT_MICROTIME, 0),
};
MSG(event_series, "EventSeries");

static const struct field f_event[] = {
    OBJ(1, "metadata", object_meta),
    OBJ(2, "involvedObject", object_ref),
    STR(3, "reason"),
    STR(4, "message"),
    OBJ(5, "source", event_source),
    FLD(6, "firstTimestamp", FT_TIME, 0),
    FLD(7, "lastTimestamp", FT_TIME, 0),
    I32(8, "count"),
    STR(9, "type"),
    FLD(10, "eventTime", FT_MICROTIME, 0),
    OBJ(11, "series", event_series),
    STR(12, "action"),
    OBJ(13, "related", object_ref),
    STR_K(14, "reportingComponent"),
    STR_K(15, "reportingInstance"),
};
MSG(event, "Event");

/* ---- k8s.io/api/policy/v1 ---- */

static const struct field f_pdb_spec[] = {
    FLD(1, "minAvailable", FT_INTSTR, 0),
    OBJ(2, "selector", label_selector),
    FLD(3, "maxUnavailable", FT_INTSTR, 0),
    STR_K(4, "unhealthyPodEvictionPolicy"),
};
MSG(pdb_spec, "PodDisruptionBudgetSpec");

static const struct field f_pdb[] = {
    OBJ(1, "metadata", object_meta),
    OBJ(2, "spec", pdb_spec),
    OBJ(3, "status", dropped),
};
MSG(pdb, "PodDisruptionBudget");

/* ---- k8s.io/api/authorization/v1 ---- */

static const struct field f_field_sel_req[] = {STR_K(1, "key"), STR_K(2, "operator"),
                                               STR_R(3, "values")};
MSG(field_sel_req, "FieldSelectorRequirement");

static const struct field f_field_sel_attrs[] = {
    STR(1, "rawSelector"),
    OBJ_R(2, "requirements", field_sel_req),
};
MSG(field_sel_attrs, "FieldSelectorAttributes");

static const struct field f_label_sel_attrs[] = {
    STR(1, "rawSelector"),
    OBJ_R(2, "requirements", label_selector_req),
};
MSG(label_sel_attrs, "LabelSelectorAttributes");

static const struct field f_resource_attrs[] = {
    STR(1, "namespace"),
    STR(2, "verb"),
    STR(3, "group"),
    STR(4, "version"),
    STR(5, "resource"),
    STR(6, "subresource"),
    STR(7, "name"),
    OBJ(8, "fieldSelector", field_sel_attrs),
    OBJ(9, "labelSelector", label_sel_attrs),
};
MSG(resource_attrs, "ResourceAttributes");

static const struct field f_non_resource_attrs[] = {STR(1, "path"), STR(2, "verb")};
MSG(non_resource_attrs, "NonResourceAttributes");

static const struct field f_ssar_spec[] = {
    OBJ(1, "resourceAttributes", resource_attrs),
    OBJ(2, "nonResourceAttributes", non_resource_attrs),
};
MSG(ssar_spec, "SelfSubjectAccessReviewSpec");

static const struct field f_sar_status[] = {
    BOOL_K(1, "allowed"),
    STR(2, "reason"),
    STR(3, "evaluationError"),
    BOOL(4, "denied"),
};
MSG(sar_status, "SubjectAccessReviewStatus");

static const struct field f_ssar[] = {
    OBJ(1, "metadata", object_meta),
    OBJ(2, "spec", ssar_spec),
    OBJ(3, "status", sar_status),
};
MSG(ssar, "SelfSubjectAccessReview");

/* ---- the kinds ---- */

struct kind {
    const char *kind;
    const char *api_version; /* NULL: any */
    const struct msg *msg;
};

static const struct kind KINDS[] = {
    {"Pod", "v1", &m_pod},
    {"Secret", "v1", &m_secret},
    {"ConfigMap", "v1", &m_config_map},
    {"Service", "v1", &m_service},
    {"Namespace", "v1", &m_namespace},
    {"ServiceAccount", "v1", &m_service_account},
    {"Event", "v1", &m_event},
    {"PodDisruptionBudget", "policy/v1", &m_pdb},
    {"SelfSubjectAccessReview", "authorization.k8s.io/v1", &m_ssar},
    {"DeleteOptions", NULL, &m_delete_options},
};

/* ---- the wire reader ---- */

struct dec {
    const uint8_t *body; /* error offsets count from here */
    size_t nodes;        /* cJSON items made so far */
    char *err;
    size_t errlen;
};

__attribute__((format(printf, 2, 3))) static int fail(struct dec *d, const char *fmt, ...)
{
    va_list ap;

    if (d->err && d->errlen) {
        va_start(ap, fmt);
        vsnprintf(d->err, d->errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static size_t off(const struct dec *d, const uint8_t *p)
{
    return (size_t)(p - d->body);
}

static int read_varint(struct dec *d, const uint8_t **pp, const uint8_t *end, uint64_t *out)
{
    const uint8_t *p = *pp;
    uint64_t v = 0;

    for (unsigned i = 0; i < MAX_VARINT_BYTES; i++) {
        if (p >= end)
            return fail(d, "truncated varint at byte %zu", off(d, *pp));
        v |= (uint64_t)(*p & 0x7f) << (7 * i);
        if (!(*p++ & 0x80)) {
            *pp = p;
            *out = v;
            return 0;
        }
    }
    return fail(d, "varint longer than %d bytes at byte %zu", MAX_VARINT_BYTES, off(d, *pp));
}

/* Reads a field's tag. Groups (deprecated since proto2, never written by Kubernetes) and the
 * undefined wire types 6 and 7 are refused here, so no caller has to decide how to skip them. */
static int read_tag(struct dec *d, const uint8_t **pp, const uint8_t *end, uint32_t *num,
                    unsigned *wt)
{
    const uint8_t *at = *pp;
    uint64_t v;

    if (read_varint(d, pp, end, &v) < 0)
        return -1;
    if ((v >> 3) == 0 || (v >> 3) > 0x1fffffff)
        return fail(d, "invalid field number %llu at byte %zu", (unsigned long long)(v >> 3),
                    off(d, at));
    *num = (uint32_t)(v >> 3);
    *wt = (unsigned)(v & 7);
    if (*wt == WT_SGROUP || *wt == WT_EGROUP)
        return fail(d, "unsupported group wire type %u (field %u) at byte %zu", *wt, (unsigned)*num,
                    off(d, at));
    if (*wt > WT_I32)
        return fail(d, "invalid wire type %u (field %u) at byte %zu", *wt, (unsigned)*num,
                    off(d, at));
    return 0;
}

/* A length-delimited payload: its bytes stay in the body, nothing is copied. */
static int read_len(struct dec *d, const uint8_t **pp, const uint8_t *end, const uint8_t **s,
                    size_t *n)
{
    const uint8_t *at = *pp;
    uint64_t v;

    if (read_varint(d, pp, end, &v) < 0)
        return -1;
    if (v > (uint64_t)(end - *pp))
        return fail(d, "length %llu at byte %zu runs past the end of its message (%zu left)",
                    (unsigned long long)v, off(d, at), (size_t)(end - *pp));
    *s = *pp;
    *n = (size_t)v;
    *pp += v;
    return 0;
}

/* Skips one unknown field by its wire type. Nested messages are skipped whole, never parsed, so a
 * deeply nested unknown field costs one length check. */
static int skip_field(struct dec *d, const uint8_t **pp, const uint8_t *end, uint32_t num,
                      unsigned wt, const uint8_t *at)
{
    const uint8_t *s;
    size_t n;
    uint64_t v;

    if (wt == WT_VARINT)
        return read_varint(d, pp, end, &v);
    if (wt == WT_LEN)
        return read_len(d, pp, end, &s, &n);
    /* WT_I64 or WT_I32: read_tag() let nothing else through */
    n = wt == WT_I64 ? 8 : 4;
    if ((size_t)(end - *pp) < n)
        return fail(d, "truncated %zu-byte field %u at byte %zu", n, (unsigned)num, off(d, at));
    *pp += n;
    return 0;
}

/* Up to four leading fields of a small fixed message (envelope, TypeMeta, map entry, Quantity,
 * IntOrString, Time); later occurrences win and other fields are skipped. */
struct slot {
    uint8_t wt; /* expected wire type: WT_VARINT or WT_LEN; the rest is filled in by read_slots() */
    uint64_t v;
    const uint8_t *s;
    size_t n;
};

static int read_slots(struct dec *d, const char *what, const uint8_t *p, const uint8_t *end,
                      struct slot *slots, size_t nslots)
{
    /* an absent field reads as empty, pointing at the end of its message (never at NULL) */
    for (size_t i = 0; i < nslots; i++) {
        slots[i].v = 0;
        slots[i].s = end;
        slots[i].n = 0;
    }
    while (p < end) {
        const uint8_t *at = p;
        uint32_t num;
        unsigned wt;

        if (read_tag(d, &p, end, &num, &wt) < 0)
            return -1;
        if (num > nslots) {
            if (skip_field(d, &p, end, num, wt, at) < 0)
                return -1;
            continue;
        }
        struct slot *sl = &slots[num - 1];
        if (wt != sl->wt)
            return fail(d, "%s field %u has wire type %u, expected %u, at byte %zu", what,
                        (unsigned)num, wt, (unsigned)sl->wt, off(d, at));
        if (wt == WT_VARINT ? read_varint(d, &p, end, &sl->v)
                            : read_len(d, &p, end, &sl->s, &sl->n))
            return -1;
    }
    return 0;
}

/* ---- JSON values ---- */

static cJSON *track(struct dec *d, cJSON *item, const uint8_t *at)
{
    if (!item) {
        fail(d, "out of memory at byte %zu", off(d, at));
        return NULL;
    }
    if (++d->nodes > MAX_NODES) {
        cJSON_Delete(item);
        fail(d, "more than %d fields at byte %zu", MAX_NODES, off(d, at));
        return NULL;
    }
    return item;
}

/* Length of the valid UTF-8 sequence at s, or 0 when it is not one (the same rules as Go's utf8
 * package: no overlong forms, no surrogates, nothing above U+10FFFF). */
static size_t utf8_seq(const uint8_t *s, size_t n)
{
    uint8_t c = s[0], lo = 0x80, hi = 0xbf;
    size_t len;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4;
    else
        return 0;
    if (c == 0xe0)
        lo = 0xa0;
    else if (c == 0xed)
        hi = 0x9f;
    else if (c == 0xf0)
        lo = 0x90;
    else if (c == 0xf4)
        hi = 0x8f;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

/* A NUL-terminated copy of a protobuf string. Invalid UTF-8 bytes become U+FFFD, as Go's
 * encoding/json writes them; a NUL byte cannot live in a cJSON string, so it is an error. Caller
 * frees. */
static char *c_string(struct dec *d, const uint8_t *s, size_t n, const char *what)
{
    size_t outlen = 0;
    char *out = NULL, *w;

    for (size_t i = 0; i < n;) {
        size_t l = utf8_seq(s + i, n - i);
        if (s[i] == 0) {
            fail(d, "%s contains a NUL byte at byte %zu", what, off(d, s + i));
            return NULL;
        }
        outlen += l ? l : 3;
        i += l ? l : 1;
    }
    out = malloc(outlen + 1);
    if (!out) {
        fail(d, "out of memory at byte %zu", off(d, s));
        return NULL;
    }
    w = out;
    for (size_t i = 0; i < n;) {
        size_t l = utf8_seq(s + i, n - i);
        if (l) {
            memcpy(w, s + i, l);
            w += l;
            i += l;
        } else {
            memcpy(w, "\xef\xbf\xbd", 3);
            w += 3;
            i++;
        }
    }
    *w = '\0';
    return out;
}

static cJSON *json_string(struct dec *d, const uint8_t *s, size_t n, const char *what)
{
    char *c = c_string(d, s, n, what);
    cJSON *item = NULL;

    if (!c)
        goto out;
    item = track(d, cJSON_CreateString(c), s);
out:
    free(c);
    return item;
}

/* Standard base64 with padding, as Go's encoding/json writes []byte. */
static cJSON *json_base64(struct dec *d, const uint8_t *s, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc(4 * ((n + 2) / 3) + 1), *w = out;
    cJSON *item = NULL;

    if (!out) {
        fail(d, "out of memory at byte %zu", off(d, s));
        goto out;
    }
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)s[i + 1] << 8;
        if (i + 2 < n)
            v |= s[i + 2];
        *w++ = tab[v >> 18];
        *w++ = tab[(v >> 12) & 63];
        *w++ = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        *w++ = i + 2 < n ? tab[v & 63] : '=';
    }
    *w = '\0';
    item = track(d, cJSON_CreateString(out), s);
out:
    free(out);
    return item;
}

/* resource.Quantity {1 string}. The string passes unchecked; an empty one is Go's zero, "0". */
static cJSON *json_quantity(struct dec *d, const uint8_t *s, size_t n)
{
    struct slot sl[1] = {{.wt = WT_LEN}};

    if (read_slots(d, "Quantity", s, s + n, sl, 1) < 0)
        return NULL;
    if (sl[0].n == 0)
        return track(d, cJSON_CreateString("0"), s);
    return json_string(d, sl[0].s, sl[0].n, "Quantity");
}

/* intstr.IntOrString {1 type (0 int, 1 string), 2 intVal, 3 strVal}. */
static cJSON *json_intstr(struct dec *d, const uint8_t *s, size_t n)
{
    struct slot sl[3] = {{.wt = WT_VARINT}, {.wt = WT_VARINT}, {.wt = WT_LEN}};

    if (read_slots(d, "IntOrString", s, s + n, sl, 3) < 0)
        return NULL;
    if (sl[0].v == 0)
        return track(d, cJSON_CreateNumber((double)(int32_t)(uint32_t)sl[1].v), s);
    if (sl[0].v == 1)
        return json_string(d, sl[2].s, sl[2].n, "IntOrString");
    fail(d, "IntOrString type %llu at byte %zu is neither 0 (int) nor 1 (string)",
         (unsigned long long)sl[0].v, off(d, s));
    return NULL;
}

/* Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's civil_from_days). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *dd)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;

    *dd = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* meta.Time and meta.MicroTime {1 seconds, 2 nanos}. An empty message is Go's zero time, which
 * Kubernetes writes as null; it is left out here (*absent = 1), as is an explicit
 * 0001-01-01T00:00:00Z. Time keeps whole seconds (Kubernetes drops the nanos on decode); MicroTime
 * keeps microseconds. */
static cJSON *json_time(struct dec *d, const uint8_t *s, size_t n, int micro, int *absent)
{
    struct slot sl[2] = {{.wt = WT_VARINT}, {.wt = WT_VARINT}};
    int64_t secs, days, y;
    int32_t nanos;
    unsigned mo, dd, sod;
    char buf[64]; /* 28 bytes needed; the rest quiets gcc, which assumes any int64 year */

    *absent = 0;
    if (read_slots(d, "Time", s, s + n, sl, 2) < 0)
        return NULL;
    secs = (int64_t)sl[0].v;
    nanos = (int32_t)(uint32_t)sl[1].v;
    if (n == 0 || secs == GO_ZERO_TIME) {
        *absent = 1;
        return NULL;
    }
    if (secs < MIN_TIME || secs > MAX_TIME || (micro && (nanos < 0 || nanos > 999999999))) {
        fail(d, "time %lld.%09ld at byte %zu is outside 0000-01-01..9999-12-31", (long long)secs,
             (long)nanos, off(d, s));
        return NULL;
    }
    days = (secs >= 0 ? secs : secs - 86399) / 86400;
    sod = (unsigned)(secs - days * 86400);
    civil_from_days(days, &y, &mo, &dd);
    if (micro)
        snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02u:%02u:%02u.%06ldZ", (long long)y, mo, dd,
                 sod / 3600, sod / 60 % 60, sod % 60, (long)(nanos / 1000));
    else
        snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02u:%02u:%02uZ", (long long)y, mo, dd,
                 sod / 3600, sod / 60 % 60, sod % 60);
    return track(d, cJSON_CreateString(buf), s);
}

/* ---- building the object ---- */

/* Sets obj[key] = item, replacing an earlier value (protobuf: the last occurrence wins). Takes
 * ownership of item, also on failure. */
static int set_member(struct dec *d, cJSON *obj, const char *key, cJSON *item, const uint8_t *at)
{
    cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
    if (!cJSON_AddItemToObject(obj, key, item)) {
        cJSON_Delete(item);
        return fail(d, "out of memory at byte %zu", off(d, at));
    }
    return 0;
}

/* obj[key] as an object or array (made when missing, or when an earlier value had another type). */
static cJSON *container_member(struct dec *d, cJSON *obj, const char *key, int array,
                               const uint8_t *at)
{
    cJSON *c = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (c && (array ? cJSON_IsArray(c) : cJSON_IsObject(c)))
        return c;
    c = track(d, array ? cJSON_CreateArray() : cJSON_CreateObject(), at);
    if (!c || set_member(d, obj, key, c, at) < 0)
        return NULL;
    return c;
}

/* Stores one value: appended for a repeated field, set otherwise. Takes ownership of item. */
static int put(struct dec *d, cJSON *obj, const struct field *f, cJSON *item, const uint8_t *at)
{
    cJSON *arr;

    if (!(f->flags & F_REP))
        return set_member(d, obj, f->json, item, at);
    arr = container_member(d, obj, f->json, 1, at);
    if (!arr || !cJSON_AddItemToArray(arr, item)) {
        cJSON_Delete(item);
        return arr ? fail(d, "out of memory at byte %zu", off(d, at)) : -1;
    }
    return 0;
}

static int put_scalar(struct dec *d, cJSON *obj, const struct field *f, uint64_t v,
                      const uint8_t *at)
{
    cJSON *item;

    if (v == 0 && !(f->flags & (F_KEEP | F_REP))) {
        /* omitempty: a zero value on the wire also clears an earlier occurrence */
        cJSON_DeleteItemFromObjectCaseSensitive(obj, f->json);
        return 0;
    }
    if (f->type == FT_BOOL)
        item = cJSON_CreateBool(v != 0);
    else if (f->type == FT_INT32)
        item = cJSON_CreateNumber((double)(int32_t)(uint32_t)v);
    else
        item = cJSON_CreateNumber((double)(int64_t)v);
    item = track(d, item, at);
    return item ? put(d, obj, f, item, at) : -1;
}

/* One map entry {1 key, 2 value} into obj[f->json]. */
static int put_map_entry(struct dec *d, cJSON *obj, const struct field *f, const uint8_t *s,
                         size_t n)
{
    struct slot sl[2] = {{.wt = WT_LEN}, {.wt = WT_LEN}};
    cJSON *map, *val = NULL, *dup = NULL;
    char *key = NULL;
    size_t count = 0;
    int rc = -1;

    if (read_slots(d, "map entry", s, s + n, sl, 2) < 0)
        goto out;
    key = c_string(d, sl[0].s, sl[0].n, "map key");
    if (!key)
        goto out;
    if (f->type == FT_MAP_STR)
        val = json_string(d, sl[1].s, sl[1].n, "map value");
    else if (f->type == FT_MAP_BYTES)
        val = json_base64(d, sl[1].s, sl[1].n);
    else
        val = json_quantity(d, sl[1].s, sl[1].n);
    if (!val)
        goto out;
    map = container_member(d, obj, f->json, 0, s);
    if (!map)
        goto out;
    for (cJSON *c = map->child; c; c = c->next, count++)
        if (!dup && strcmp(c->string, key) == 0)
            dup = c;
    if (dup) {
        cJSON_Delete(cJSON_DetachItemViaPointer(map, dup));
    } else if (count >= MAX_MAP_ENTRIES) {
        fail(d, "map \"%s\" has more than %d entries at byte %zu", f->json, MAX_MAP_ENTRIES,
             off(d, s));
        goto out;
    }
    if (!cJSON_AddItemToObject(map, key, val)) {
        fail(d, "out of memory at byte %zu", off(d, s));
        goto out;
    }
    val = NULL;
    rc = 0;
out:
    cJSON_Delete(val);
    free(key);
    return rc;
}

static int decode_msg(struct dec *d, const struct msg *m, const uint8_t *p, const uint8_t *end,
                      cJSON *obj, int depth);

/* One length-delimited value of a known field. */
static int put_len(struct dec *d, cJSON *obj, const struct field *f, const uint8_t *s, size_t n,
                   int depth)
{
    cJSON *item = NULL;
    int absent = 0;

    switch (f->type) {
    case FT_STRING:
        if (n == 0 && !(f->flags & (F_KEEP | F_REP))) {
            cJSON_DeleteItemFromObjectCaseSensitive(obj, f->json);
            return 0;
        }
        item = json_string(d, s, n, f->json);
        break;
    case FT_MSG:
        if (f->flags & F_REP) {
            item = track(d, cJSON_CreateObject(), s);
            /* attach first, so a failure below leaves nothing unowned */
            if (!item || put(d, obj, f, item, s) < 0)
                return -1;
        } else {
            /* a message seen twice merges, as protobuf specifies */
            item = container_member(d, obj, f->json, 0, s);
            if (!item)
                return -1;
        }
        return decode_msg(d, f->sub, s, s + n, item, depth + 1);
    case FT_INLINE:
        return decode_msg(d, f->sub, s, s + n, obj, depth + 1);
    case FT_MAP_STR:
    case FT_MAP_BYTES:
    case FT_MAP_QTY:
        return put_map_entry(d, obj, f, s, n);
    case FT_QTY:
        item = json_quantity(d, s, n);
        break;
    case FT_INTSTR:
        item = json_intstr(d, s, n);
        break;
    case FT_TIME:
    case FT_MICROTIME:
        item = json_time(d, s, n, f->type == FT_MICROTIME, &absent);
        if (absent) {
            cJSON_DeleteItemFromObjectCaseSensitive(obj, f->json);
            return 0;
        }
        break;
    default:
        return fail(d, "internal: field \"%s\" has no length-delimited form", f->json);
    }
    return item ? put(d, obj, f, item, s) : -1;
}

static const struct field *find_field(const struct msg *m, uint32_t num)
{
    for (size_t i = 0; i < m->nfields; i++)
        if (m->fields[i].num == num)
            return &m->fields[i];
    return NULL;
}

/* Decodes the message p..end, described by m, into obj. */
static int decode_msg(struct dec *d, const struct msg *m, const uint8_t *p, const uint8_t *end,
                      cJSON *obj, int depth)
{
    if (depth > MAX_DEPTH)
        return fail(d, "messages nested deeper than %d at byte %zu", MAX_DEPTH, off(d, p));
    while (p < end) {
        const uint8_t *at = p, *s;
        const struct field *f;
        uint32_t num;
        unsigned wt;
        size_t n;
        uint64_t v;
        int scalar;

        if (read_tag(d, &p, end, &num, &wt) < 0)
            return -1;
        f = find_field(m, num);
        if (!f) {
            if (skip_field(d, &p, end, num, wt, at) < 0)
                return -1;
            continue;
        }
        scalar = f->type == FT_INT32 || f->type == FT_INT64 || f->type == FT_BOOL;
        if (scalar && wt == WT_VARINT) {
            if (read_varint(d, &p, end, &v) < 0 || put_scalar(d, obj, f, v, at) < 0)
                return -1;
        } else if (scalar && wt == WT_LEN && (f->flags & F_REP)) {
            /* a packed repeated scalar: varints back to back */
            if (read_len(d, &p, end, &s, &n) < 0)
                return -1;
            for (const uint8_t *q = s; q < s + n;) {
                const uint8_t *qat = q;
                if (read_varint(d, &q, s + n, &v) < 0 || put_scalar(d, obj, f, v, qat) < 0)
                    return -1;
            }
        } else if (!scalar && wt == WT_LEN) {
            if (read_len(d, &p, end, &s, &n) < 0 || put_len(d, obj, f, s, n, depth) < 0)
                return -1;
        } else {
            return fail(d, "%s.%s (field %u) has wire type %u, expected %u, at byte %zu", m->name,
                        f->json, (unsigned)num, wt, (unsigned)(scalar ? WT_VARINT : WT_LEN),
                        off(d, at));
        }
    }
    return 0;
}

/* ---- the envelope ---- */

static int slot_is(const struct slot *sl, const char *s)
{
    return sl->n == strlen(s) && memcmp(sl->s, s, sl->n) == 0;
}

cJSON *kproto_decode(const void *body, size_t len, char *err, size_t errlen)
{
    struct dec d = {body, 0, err, errlen};
    /* runtime.Unknown {1 typeMeta, 2 raw, 3 contentEncoding, 4 contentType};
     * TypeMeta {1 apiVersion, 2 kind} */
    struct slot unk[4] = {{.wt = WT_LEN}, {.wt = WT_LEN}, {.wt = WT_LEN}, {.wt = WT_LEN}};
    struct slot tm[2] = {{.wt = WT_LEN}, {.wt = WT_LEN}};
    const uint8_t *p = body;
    const struct kind *k = NULL;
    cJSON *root = NULL, *item, *ret = NULL;
    char *kind = NULL, *api_version = NULL, *bad = NULL;

    if (err && errlen)
        err[0] = '\0';
    if (!body || len == 0) {
        fail(&d, "empty body");
        goto out;
    }
    if (len > KPROTO_MAX_BODY) {
        fail(&d, "body of %zu bytes exceeds the %u-byte limit", len, KPROTO_MAX_BODY);
        goto out;
    }
    if (len < sizeof MAGIC || memcmp(p, MAGIC, sizeof MAGIC) != 0) {
        fail(&d, "missing \"k8s\\0\" magic");
        goto out;
    }
    if (read_slots(&d, "runtime.Unknown", p + sizeof MAGIC, p + len, unk, 4) < 0 ||
        read_slots(&d, "TypeMeta", unk[0].s, unk[0].s + unk[0].n, tm, 2) < 0)
        goto out;
    if (unk[2].n) {
        /* gzip'ed raw is not something client-go sends */
        bad = c_string(&d, unk[2].s, unk[2].n, "contentEncoding");
        if (bad)
            fail(&d, "unsupported contentEncoding \"%s\" in the envelope", bad);
        goto out;
    }
    if (unk[3].n && !slot_is(&unk[3], KPROTO_MEDIA_TYPE)) {
        bad = c_string(&d, unk[3].s, unk[3].n, "contentType");
        if (bad)
            fail(&d, "unsupported contentType \"%s\" in the envelope", bad);
        goto out;
    }
    kind = c_string(&d, tm[1].s, tm[1].n, "kind");
    api_version = kind ? c_string(&d, tm[0].s, tm[0].n, "apiVersion") : NULL;
    if (!api_version)
        goto out;
    if (!kind[0]) {
        fail(&d, "missing kind in the envelope's typeMeta");
        goto out;
    }
    for (size_t i = 0; i < sizeof KINDS / sizeof KINDS[0] && !k; i++)
        if (strcmp(KINDS[i].kind, kind) == 0)
            k = &KINDS[i];
    if (!k) {
        fail(&d, "unsupported protobuf kind \"%s\"", kind);
        goto out;
    }
    if (k->api_version && strcmp(k->api_version, api_version) != 0) {
        fail(&d, "unsupported apiVersion \"%s\" for protobuf kind \"%s\" (expected \"%s\")",
             api_version, kind, k->api_version);
        goto out;
    }
    root = track(&d, cJSON_CreateObject(), p);
    if (!root)
        goto out;
    item = track(&d, cJSON_CreateString(kind), tm[1].s);
    if (!item || set_member(&d, root, "kind", item, tm[1].s) < 0)
        goto out;
    item = track(&d, cJSON_CreateString(api_version), tm[0].s);
    if (!item || set_member(&d, root, "apiVersion", item, tm[0].s) < 0)
        goto out;
    if (decode_msg(&d, k->msg, unk[1].s, unk[1].s + unk[1].n, root, 1) < 0)
        goto out;
    ret = root;
    root = NULL;
out:
    cJSON_Delete(root);
    free(kind);
    free(api_version);
    free(bad);
    return ret;
}
