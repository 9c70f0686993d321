/* kcconfig.h -- where the reference job client finds the kube-apiserver: a kubeconfig file (read
 * through a small YAML subset, or JSON), or the runner's [runners.kubernetes] host, bearer_token
 * and ca_file (runner-k8s-executor.md §1) */
#ifndef KF_KCCONFIG_H
#define KF_KCCONFIG_H

#include <stddef.h>

#include <cjson/cJSON.h>

#define KC_CONFIG_MAX_FILE (4u << 20) /**< bytes of a kubeconfig or CA file read */
#define KC_YAML_MAX_LINES 100000      /**< lines of a kubeconfig parsed */
#define KC_YAML_MAX_DEPTH 32          /**< nesting of a kubeconfig parsed */

/** One connection's settings. Strings are owned (kc_config_release() frees them); NULL when
 *  absent. */
struct kc_config {
    char *server;    /**< "https://127.0.0.1:6443", no trailing slash */
    char *token;     /**< bearer token */
    char *ca_file;   /**< CA file path (as configured) ... */
    char *ca_pem;    /**< ... or the CA PEM itself (certificate-authority-data, decoded) */
    int insecure;    /**< insecure-skip-tls-verify */
    char *namespace; /**< the kubeconfig context's namespace */
    char *source;    /**< where it came from, for messages: "kubeconfig FILE (context C)" */
};

/**
 * Read the kubeconfig at path: the context named context (NULL: current-context), its cluster's
 * server, certificate-authority-data or certificate-authority (relative to the file's folder) and
 * insecure-skip-tls-verify, its user's token (or tokenFile), and its namespace. A file whose first
 * non-blank byte is '{' is read as JSON. Client certificates and exec/auth-provider plugins are
 * refused (the reference job client does not implement them). Returns 0 with *out filled (release
 * with kc_config_release()), or -1 with a message in err ("kubeconfig FILE: ...").
 */
int kc_config_load(const char *path, const char *context, struct kc_config *out, char *err,
                   size_t errlen);

/** The runner's own settings (host required; token and ca_file may be NULL; borrowed) as a
 *  config. 0, or -1 with a message in err (a host that is not http:// or https://). */
int kc_config_from_host(const char *host, const char *token, const char *ca_file,
                        struct kc_config *out, char *err, size_t errlen);

/** Free the strings; c is left zeroed. NULL is a no-op. */
void kc_config_release(struct kc_config *c);

/**
 * Parse the YAML subset kubeconfigs are written in (text, len bytes, borrowed) into JSON: block
 * mappings ("key: value", "key:" followed by a more indented block or by a "- " sequence at the
 * same indentation), block sequences ("- item", "- key: value" starting a mapping), plain,
 * 'single-quoted' and "double-quoted" scalars (escapes \" \\ \/ \n \t \r \0 \xHH \uHHHH), the
 * empty flow collections {} and [], comments (# at a line's start or after a blank) and a leading
 * "---". Every scalar becomes a JSON string ("true" included). Returns the document (caller frees
 * with cJSON_Delete()), or NULL with "line N: message" in err for anything else (anchors, tags,
 * multi-line scalars, non-empty flow collections, tabs in indentation).
 */
cJSON *kc_yaml_parse(const char *text, size_t len, char *err, size_t errlen);

#endif
