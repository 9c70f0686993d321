/* openapi_v2.h -- the OpenAPI v2 (Swagger 2.0) document, as JSON and as gnostic protobuf */
#ifndef KF_OPENAPI_V2_H
#define KF_OPENAPI_V2_H

#include <stddef.h>

#include <cjson/cJSON.h>

/**
 * The Content-Type of the protobuf answer. kube-apiserver answers with this dotted spelling:
 * client-go runs a response's Content-Type through Go's mime.ParseMediaType, which rejects the '@'
 * of the spelling clients ask for, and kubectl then fails with "mime: unexpected content after
 * media subtype" (rest.Request.transformResponse).
 */
#define OPENAPI_V2_PROTO_CONTENT_TYPE "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"

/** The spelling kubectl 1.27-1.33 put in Accept (client-go discovery.OpenAPISchema). */
#define OPENAPI_V2_PROTO_ACCEPT "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"

/** Largest encoding openapi_v2_encode() produces, in bytes; the whole document is about 50 KiB. */
#define OPENAPI_V2_MAX_BYTES (16u * 1024u * 1024u)

/**
 * GET /openapi/v2 as JSON: the Swagger 2.0 form of the documents openapi_v3_group() serves, one
 * per group version of kinds_table, merged: the same paths, operations (x-kubernetes-action,
 * x-kubernetes-group-version-kind, the dryRun/fieldManager/fieldValidation query parameters),
 * request bodies as "in":"body" parameters plus consumes, response schemas plus produces, and
 * components.schemas as definitions with their $refs moved to #/definitions/. Deriving it keeps v2
 * and v3 telling kubectl the same things, including what openapi.h says about strategic merge
 * patch (left out of PATCH consumes: kubectl apply then uses its built-in types).
 *
 * Same document every call. Caller frees with cJSON_Delete(); NULL when out of memory (or if the
 * v3 documents ever use a construct this conversion does not know).
 */
cJSON *openapi_v2_json(void);

/**
 * Encode a Swagger 2.0 document (borrowed) as a gnostic openapi.v2.Document
 * (github.com/google/gnostic-models openapiv2/OpenAPIv2.proto), the form kubectl 1.27 and 1.28
 * load before they validate create -f / apply -f. Vendor extensions (keys starting "x-") become
 * NamedAny entries whose Any.yaml holds the value as block YAML, as kube-apiserver sends them.
 *
 * Covers what openapi_v2_json() produces: Document, Info, Paths, PathItem, Operation, body, query
 * and path parameters, $ref parameters and responses, Responses, Response, Schema (type, items,
 * properties, additionalProperties, required, $ref and the scalar keywords) and Definitions. A key
 * it does not know is an error, so nothing is dropped silently.
 *
 * On success returns 0 and sets *out (caller frees with free()) and *len; fields are written in
 * field-number order, map entries in document order, so equal input gives equal bytes. On failure
 * returns -1, leaves *out NULL and, when err is not NULL, writes a message naming the JSON path
 * (e.g. `paths./api/v1/pods.get: unknown key "nullable" in Operation`).
 */
int openapi_v2_encode(const cJSON *swagger, unsigned char **out, size_t *len, char *err,
                      size_t errlen);

/**
 * GET /openapi/v2 as protobuf: openapi_v2_encode(openapi_v2_json()). 0 with *out (caller frees
 * with free()) and *len set, same bytes every call; -1 when out of memory (logged).
 */
int openapi_v2_document(unsigned char **out, size_t *len);

/**
 * 1 when an Accept header (borrowed, may be NULL) asks for the protobuf form: it names either
 * spelling of the gnostic media type and not application/json. kubectl sends only
 * OPENAPI_V2_PROTO_ACCEPT; anything else (application/json, * / *, no header) gets JSON, as from
 * kube-apiserver.
 */
int openapi_v2_wants_proto(const char *accept);

#endif
