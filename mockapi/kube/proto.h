/* proto.h -- decodes Kubernetes protobuf bodies ("k8s\0" + runtime.Unknown) into the store JSON */
#ifndef KF_PROTO_H
#define KF_PROTO_H

#include <cjson/cJSON.h>
#include <stddef.h>

/** The media type. */
#define KPROTO_MEDIA_TYPE "application/vnd.kubernetes.protobuf"

/** Largest body kproto_decode() accepts, in bytes (the apiserver's own request limit is 3 MiB). */
#define KPROTO_MAX_BODY (8u * 1024u * 1024u)

/** Decode a whole body. Returns a new cJSON object (caller frees with cJSON_Delete) that carries
 * "apiVersion" and "kind" from the envelope's typeMeta, or NULL with a message in err (e.g.
 * `missing "k8s\0" magic`, `truncated varint at byte 12`, `unsupported protobuf kind "Foo"`).
 * Never reads past len; never crashes on any input.
 *
 * Borrows body. err may be NULL (or errlen 0) when the caller wants no message; on success it is
 * set to "". Byte offsets in messages count from the start of the body, magic included.
 *
 * Kinds: Pod, Secret, ConfigMap, Service, Namespace, ServiceAccount and Event in "v1";
 * PodDisruptionBudget in "policy/v1"; SelfSubjectAccessReview in "authorization.k8s.io/v1";
 * DeleteOptions in any apiVersion (client-go stamps it with the sending client's group version).
 *
 * The JSON is what Kubernetes would write for the same object: its field names; zero values left
 * out unless Kubernetes keeps them (pointer fields, fields without omitempty); bytes as base64,
 * Quantity as a string, IntOrString as a number or a string, Time as RFC 3339 (left out when zero).
 * The status of a Pod, Service, Namespace or PodDisruptionBudget decodes to {} whatever it holds;
 * fields the tables do not name are skipped. Defaults (Secret type "Opaque", phases) are the
 * store's business: nothing is filled in here. */
cJSON *kproto_decode(const void *body, size_t len, char *err, size_t errlen);

#endif
