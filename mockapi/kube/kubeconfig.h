/* kubeconfig.h -- writes the kubeconfig clients use to reach the fake (server URL, CA, token) */
#ifndef KF_KUBECONFIG_H
#define KF_KUBECONFIG_H

#include <stddef.h>

#define KUBECONFIG_VALUE_MAX (64 * 1024) /**< cap on each option string; a CA PEM is ~700 bytes */
#define KUBECONFIG_DEFAULT_NAME "kubefault" /**< cluster, user and context name when none given */

/** What goes into the kubeconfig. The strings are borrowed; only server_url is required. */
struct kubeconfig_opts {
    const char *server_url;   /**< "https://127.0.0.1:PORT" or "http://..." */
    const char *ca_pem;       /**< CA certificate PEM, NULL for plain http */
    const char *token;        /**< bearer token, NULL for none */
    const char *cluster_name; /**< cluster, user and context name; NULL for "kubefault" */
    const char *namespace;    /**< the context's default namespace, NULL for none */
};

/**
 * Render the kubeconfig YAML: apiVersion v1, kind Config, one cluster (server, and
 * certificate-authority-data = base64 of ca_pem when given), one user (token when given, else
 * `user: {}`), one context joining them (with namespace when given), current-context set to it.
 * Every value is written as a YAML double-quoted scalar with `"`, `\` and control bytes escaped.
 * Returns NULL when o or server_url is NULL, server_url is not http:// or https://, a given
 * string is empty, longer than KUBECONFIG_VALUE_MAX or not ASCII, or memory runs out.
 * Caller frees the result with free().
 */
char *kubeconfig_render(const struct kubeconfig_opts *o);

/**
 * Render the kubeconfig and write it to path atomically (a temporary file beside path, fsync,
 * then rename over path), mode 0600 as it holds a credential. Returns 0, or -1 with a message in
 * err (with strerror for system errors); on failure path is untouched and no temporary remains.
 */
int kubeconfig_write(const struct kubeconfig_opts *o, const char *path, char *err, size_t errlen);

#endif
