#include "aws/sts.h"

#include <stdio.h>
#include <string.h>

#include "aws/http.h"
#include "aws/xml.h"

int aws_sts_parse_identity(const char *xml, size_t len, struct aws_identity *out)
{
    memset(out, 0, sizeof *out);
    struct aws_xml *root = aws_xml_parse(xml, len);
    if (!root || strcmp(root->name, "GetCallerIdentityResponse") != 0) {
        aws_xml_free(root);
        return -EPROTO;
    }
    struct aws_xml *r = aws_xml_child(root, "GetCallerIdentityResult");
    snprintf(out->account, sizeof out->account, "%s", aws_xml_text(r, "Account"));
    snprintf(out->arn, sizeof out->arn, "%s", aws_xml_text(r, "Arn"));
    snprintf(out->user_id, sizeof out->user_id, "%s", aws_xml_text(r, "UserId"));
    aws_xml_free(root);
    return out->account[0] ? 0 : -EPROTO;
}

int aws_sts_get_caller_identity(struct aws_client *c, struct aws_identity *out, struct aws_error *err)
{
    memset(out, 0, sizeof *out);
    struct aws_endpoint ep;
    int rc = aws_endpoint_resolve("sts", aws_client_region(c), NULL, &ep, err);
    if (rc)
        return rc;
    static const char body[] = "Action=GetCallerIdentity&Version=2011-06-15";
    struct aws_request req = {
        .service = "sts", .endpoint = &ep, .method = "POST", .path = "/",
        .body = body, .body_len = sizeof body - 1,
        .content_type = "application/x-www-form-urlencoded; charset=utf-8",
    };
    struct aws_response r;
    rc = aws_client_send(c, &req, &r, err);
    if (rc == 0 && aws_sts_parse_identity(r.body.data, r.body.len, out) != 0) {
        rc = aws_error_set(err, -EPROTO, "InvalidResponse",
                           "STS GetCallerIdentity answered without an account id");
        snprintf(err->request_id, sizeof err->request_id, "%s", r.request_id);
    }
    aws_response_free(&r);
    return rc;
}
