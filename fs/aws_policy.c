/* The AWS client policies; see aws_policy.h for why each is what it is. */
#include "fs/aws_policy.h"

const struct aws_client_policy PCFS_AWS_COMMIT = {
    .connect_ms = 3000, .total_ms = 10000, .max_attempts = 0};
const struct aws_client_policy PCFS_AWS_CONTROLLER = {
    .connect_ms = 3000, .total_ms = 20000, .max_attempts = 0};
