/* The IAM answer parsers (role, instance profiles, name lists) on
 * arbitrary bytes; each result is freed, so leaks and bad frees show. */
#include <stdint.h>
#include <stdlib.h>

#include "aws/iam.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *xml = (const char *)data;
    struct aws_iam_role role;
    if (aws_iam_parse_role(xml, size, "CreateRole", &role) == 0)
        aws_iam_role_free(&role);
    if (aws_iam_parse_role(xml, size, "GetRole", &role) == 0)
        aws_iam_role_free(&role);
    struct aws_iam_instance_profiles profiles = {0};
    char *marker = NULL;
    aws_iam_parse_instance_profiles(xml, size, "GetInstanceProfile", &profiles, &marker);
    free(marker);
    aws_iam_parse_instance_profiles(xml, size, "ListInstanceProfilesForRole", &profiles, &marker);
    free(marker);
    aws_iam_instance_profiles_free(&profiles);
    struct aws_iam_names names = {0};
    aws_iam_parse_names(xml, size, "ListRolePolicies", "PolicyNames", &names, &marker);
    free(marker);
    aws_iam_parse_names(xml, size, "ListAttachedRolePolicies", "AttachedPolicies", &names,
                        &marker);
    free(marker);
    aws_iam_names_free(&names);
    return 0;
}
