#include "aws/endpoint.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "aws/util.h"

static const char *custom_url(const char *service)
{
    char name[64];
    snprintf(name, sizeof name, "AWS_ENDPOINT_URL_%s", service);
    for (char *p = name; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    const char *v = getenv(name);
    if (v && *v)
        return v;
    v = getenv("AWS_ENDPOINT_URL");
    return v && *v ? v : NULL;
}

static bool dns_compatible_bucket(const char *b)
{
    size_t n = strlen(b);
    if (n < 3 || n > 63)
        return false;
    for (const char *p = b; *p; p++)
        if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '-'))
            return false;   /* dots break TLS wildcard certificates */
    return b[0] != '-' && b[n - 1] != '-';
}

static int parse_custom(const char *url, struct aws_endpoint *out, struct aws_error *err)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
    int rc = 0;
    if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        rc = aws_error_set(err, -EINVAL, "InvalidEndpoint", "endpoint URL \"%.200s\" is not a URL", url);
        goto out;
    }
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
        rc = aws_error_set(err, -EINVAL, "InvalidEndpoint", "endpoint URL \"%.200s\" is not http(s)", url);
        goto out;
    }
    curl_url_get(u, CURLUPART_PORT, &port, 0);
    curl_url_get(u, CURLUPART_PATH, &path, CURLU_URLDECODE);
    snprintf(out->scheme, sizeof out->scheme, "%s", scheme);
    if (port)
        snprintf(out->host, sizeof out->host, "%s:%s", host, port);
    else
        snprintf(out->host, sizeof out->host, "%s", host);
    size_t plen = path ? strlen(path) : 0;
    while (plen > 0 && path[plen - 1] == '/')
        plen--;
    snprintf(out->base_path, sizeof out->base_path, "%.*s", (int)plen, path ? path : "");
    out->custom = true;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_url_cleanup(u);
    return rc;
}

int aws_endpoint_resolve(const char *service, const char *region, const char *bucket,
                         struct aws_endpoint *out, struct aws_error *err)
{
    memset(out, 0, sizeof *out);
    const char *url = custom_url(service);
    if (url) {
        int rc = parse_custom(url, out, err);
        if (rc == 0 && bucket && *bucket) {
            size_t len = strlen(out->base_path);
            snprintf(out->base_path + len, sizeof out->base_path - len, "/%s", bucket);
        }
        return rc;
    }
    if (!region || !*region)
        return aws_error_set(err, -EINVAL, "MissingRegion", "no region to reach %s in", service);
    for (const char *p = region; *p; p++)
        if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '-'))
            return aws_error_set(err, -EINVAL, "InvalidRegion", "\"%.64s\" is not a region name", region);
    const char *suffix = strncmp(region, "cn-", 3) == 0 ? "amazonaws.com.cn" : "amazonaws.com";
    snprintf(out->scheme, sizeof out->scheme, "https");
    if (strcmp(service, "s3") == 0 && bucket && *bucket) {
        if (dns_compatible_bucket(bucket)) {
            snprintf(out->host, sizeof out->host, "%s.s3.%s.%s", bucket, region, suffix);
        } else {
            snprintf(out->host, sizeof out->host, "s3.%s.%s", region, suffix);
            snprintf(out->base_path, sizeof out->base_path, "/%s", bucket);
        }
    } else if (strcmp(service, "iam") == 0) {
        /* global: one endpoint per partition */
        snprintf(out->host, sizeof out->host, "%s", strncmp(region, "cn-", 3) == 0
                 ? "iam.cn-north-1.amazonaws.com.cn" : "iam.amazonaws.com");
    } else {
        snprintf(out->host, sizeof out->host, "%s.%s.%s", service, region, suffix);
    }
    return 0;
}

void aws_endpoint_url(const struct aws_endpoint *ep, const char *path, char *out, size_t n)
{
    struct aws_buf b = {0};
    aws_buf_printf(&b, "%s://%s", ep->scheme, ep->host);
    aws_uri_encode(&b, ep->base_path, strlen(ep->base_path), true);
    aws_uri_encode(&b, path, strlen(path), true);
    snprintf(out, n, "%s", aws_buf_str(&b));
    aws_buf_free(&b);
}
