/* The response parsers on documents shaped like AWS's (nesting that repeats
 * element names, paging tokens, error documents of the three dialects) and
 * on documents that are not what they should be. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "aws/aws.h"
#include "aws/http.h"
#include "aws/xml.h"
#include "tests/unit/check.h"

static const char describe_instances[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<DescribeInstancesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">\n"
    " <requestId>8f7724cf-496f-496e-8fe3-example</requestId>\n"
    " <reservationSet>\n"
    "  <item><reservationId>r-1</reservationId><ownerId>123456789012</ownerId>\n"
    "   <groupSet><item><groupId>sg-1</groupId></item></groupSet>\n"
    "   <instancesSet>\n"
    "    <item><instanceId>i-0aaa</instanceId><imageId>ami-1</imageId>\n"
    "     <instanceState><code>16</code><name>running</name></instanceState>\n"
    "     <privateDnsName>ip-10-0-0-5.ec2.internal</privateDnsName>\n"
    "     <keyName>lab</keyName><instanceType>t2.micro</instanceType>\n"
    "     <launchTime>2026-11-27T01:02:03.000Z</launchTime>\n"
    "     <placement><availabilityZone>us-east-1a</availabilityZone></placement>\n"
    "     <subnetId>subnet-1</subnetId><vpcId>vpc-1</vpcId>\n"
    "     <privateIpAddress>10.0.0.5</privateIpAddress><ipAddress>203.0.113.7</ipAddress>\n"
    "     <networkInterfaceSet><item><privateIpAddress>10.9.9.9</privateIpAddress>\n"
    "       <tagSet><item><key>Name</key><value>eni-tag</value></item></tagSet></item></networkInterfaceSet>\n"
    "     <clientToken>ct-head-1</clientToken>\n"
    "     <tagSet><item><key>pclusterfs:cluster</key><value>lab3</value></item>\n"
    "      <item><key>Name</key><value>lab3-head</value></item>\n"
    "      <item><key>empty</key><value/></item></tagSet>\n"
    "    </item>\n"
    "    <item><instanceId>i-0bbb</instanceId><instanceState><name>pending</name></instanceState>"
    "<stateReason><code>pending</code><message>booting &amp; more</message></stateReason></item>\n"
    "   </instancesSet></item>\n"
    "  <item><instancesSet><item><instanceId>i-0ccc</instanceId>"
    "<instanceState><name>terminated</name></instanceState></item></instancesSet></item>\n"
    " </reservationSet>\n"
    " <nextToken>page2/+=</nextToken>\n"
    "</DescribeInstancesResponse>\n";

static void test_describe_instances(void)
{
    struct aws_ec2_instances l = {0};
    char *next = NULL;
    CHECK_INT(aws_ec2_parse_instances(describe_instances, strlen(describe_instances), &l, &next), 0);
    CHECK_INT(l.n, 3);
    CHECK_STR(next, "page2/+=");
    free(next);
    if (l.n == 3) {
        struct aws_ec2_instance *i = &l.v[0];
        CHECK_STR(i->id, "i-0aaa");
        CHECK_STR(i->state, "running");
        CHECK_STR(i->type, "t2.micro");
        CHECK_STR(i->private_ip, "10.0.0.5");     /* not the network interface's */
        CHECK_STR(i->public_ip, "203.0.113.7");
        CHECK_STR(i->launch_time, "2026-11-27T01:02:03.000Z");
        CHECK_STR(i->client_token, "ct-head-1");
        CHECK_STR(i->image_id, "ami-1");
        CHECK_STR(i->subnet_id, "subnet-1");
        CHECK_STR(i->vpc_id, "vpc-1");
        CHECK_STR(i->key_name, "lab");
        CHECK_STR(i->availability_zone, "us-east-1a");
        CHECK_INT(i->n_tags, 3);
        CHECK_STR(aws_ec2_instance_tag(i, "Name"), "lab3-head");  /* not the ENI's */
        CHECK_STR(aws_ec2_instance_tag(i, "pclusterfs:cluster"), "lab3");
        CHECK_STR(aws_ec2_instance_tag(i, "empty"), "");
        CHECK(aws_ec2_instance_tag(i, "absent") == NULL);
        CHECK_STR(l.v[1].state, "pending");
        CHECK_STR(l.v[1].private_ip, "");
        CHECK_STR(l.v[1].state_reason, "booting & more");
        CHECK_STR(l.v[2].id, "i-0ccc");
        CHECK_STR(l.v[2].state, "terminated");
    }
    aws_ec2_instances_free(&l);

    /* The last page has no token. */
    static const char last[] = "<DescribeInstancesResponse><reservationSet/></DescribeInstancesResponse>";
    next = (char *)1;
    CHECK_INT(aws_ec2_parse_instances(last, strlen(last), &l, &next), 0);
    CHECK(next == NULL);
    CHECK_INT(l.n, 0);

    static const char term[] =
        "<TerminateInstancesResponse><instancesSet><item><instanceId>i-1</instanceId>"
        "<currentState><code>32</code><name>shutting-down</name></currentState>"
        "<previousState><code>16</code><name>running</name></previousState></item>"
        "</instancesSet></TerminateInstancesResponse>";
    CHECK_INT(aws_ec2_parse_instances(term, strlen(term), &l, NULL), 0);
    CHECK_INT(l.n, 1);
    if (l.n)
        CHECK_STR(l.v[0].state, "shutting-down");
    aws_ec2_instances_free(&l);
}

static void test_other_ec2_answers(void)
{
    static const char images[] =
        "<DescribeImagesResponse><imagesSet>"
        "<item><imageId>ami-old</imageId><name>aws-parallelcluster-2.11.9-amzn2-hvm-x86_64-1</name>"
        "<creationDate>2023-01-05T10:00:00.000Z</creationDate><imageState>available</imageState>"
        "<imageOwnerId>247102896272</imageOwnerId><architecture>x86_64</architecture></item>"
        "<item><imageId>ami-new</imageId><name>aws-parallelcluster-2.11.9-amzn2-hvm-x86_64-2</name>"
        "<creationDate>2024-03-01T09:00:00.000Z</creationDate><imageState>available</imageState></item>"
        "</imagesSet></DescribeImagesResponse>";
    struct aws_ec2_images im = {0};
    CHECK_INT(aws_ec2_parse_images(images, strlen(images), &im), 0);
    CHECK_INT(im.n, 2);
    if (im.n == 2) {
        CHECK_STR(im.v[0].owner_id, "247102896272");
        CHECK_STR(im.v[1].creation_date, "2024-03-01T09:00:00.000Z");
    }
    aws_ec2_images_free(&im);

    static const char types[] =
        "<DescribeInstanceTypesResponse><instanceTypeSet><item><instanceType>c5.xlarge</instanceType>"
        "<vCpuInfo><defaultVCpus>4</defaultVCpus><defaultCores>2</defaultCores></vCpuInfo>"
        "<memoryInfo><sizeInMiB>8192</sizeInMiB></memoryInfo></item></instanceTypeSet>"
        "</DescribeInstanceTypesResponse>";
    struct aws_ec2_instance_types it = {0};
    CHECK_INT(aws_ec2_parse_instance_types(types, strlen(types), &it, NULL), 0);
    CHECK_INT(it.n, 1);
    if (it.n) {
        CHECK_STR(it.v[0].name, "c5.xlarge");
        CHECK_INT(it.v[0].vcpus, 4);
        CHECK_INT(it.v[0].memory_mib, 8192);
    }
    aws_ec2_instance_types_free(&it);

    static const char keys[] =
        "<DescribeKeyPairsResponse><keySet><item><keyPairId>key-1</keyPairId><keyName>lab</keyName>"
        "<keyFingerprint>1f:51</keyFingerprint><keyType>rsa</keyType></item></keySet>"
        "</DescribeKeyPairsResponse>";
    struct aws_ec2_key_pairs kp = {0};
    CHECK_INT(aws_ec2_parse_key_pairs(keys, strlen(keys), &kp), 0);
    CHECK_INT(kp.n, 1);
    if (kp.n)
        CHECK_STR(kp.v[0].name, "lab");
    aws_ec2_key_pairs_free(&kp);

    static const char vpcs[] =
        "<DescribeVpcsResponse><vpcSet><item><vpcId>vpc-1</vpcId><state>available</state>"
        "<cidrBlock>10.0.0.0/16</cidrBlock><cidrBlockAssociationSet><item><cidrBlock>10.1.0.0/16"
        "</cidrBlock></item></cidrBlockAssociationSet></item></vpcSet></DescribeVpcsResponse>";
    struct aws_ec2_vpcs v = {0};
    CHECK_INT(aws_ec2_parse_vpcs(vpcs, strlen(vpcs), &v), 0);
    CHECK_INT(v.n, 1);
    if (v.n)
        CHECK_STR(v.v[0].cidr, "10.0.0.0/16");
    aws_ec2_vpcs_free(&v);

    static const char subnets[] =
        "<DescribeSubnetsResponse><subnetSet><item><subnetId>subnet-1</subnetId><vpcId>vpc-1</vpcId>"
        "<cidrBlock>10.0.1.0/24</cidrBlock><availabilityZone>eu-west-1b</availabilityZone>"
        "<state>available</state></item></subnetSet></DescribeSubnetsResponse>";
    struct aws_ec2_subnets s = {0};
    CHECK_INT(aws_ec2_parse_subnets(subnets, strlen(subnets), &s), 0);
    CHECK_INT(s.n, 1);
    if (s.n) {
        CHECK_STR(s.v[0].vpc_id, "vpc-1");
        CHECK_STR(s.v[0].availability_zone, "eu-west-1b");
    }
    aws_ec2_subnets_free(&s);

    /* The wrong document for the call is refused. */
    CHECK_INT(aws_ec2_parse_subnets(vpcs, strlen(vpcs), &s), -EPROTO);
    CHECK_INT(aws_ec2_parse_instances(vpcs, strlen(vpcs), &(struct aws_ec2_instances){0}, NULL), -EPROTO);
}

static void test_s3_and_sts(void)
{
    static const char list[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
        "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>b</Name>"
        "<Prefix>clusters/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated>"
        "<Contents><Key>clusters/a/config</Key><LastModified>2026-11-27T01:00:00.000Z</LastModified>"
        "<ETag>&quot;d41d8&quot;</ETag><Size>120</Size><StorageClass>STANDARD</StorageClass></Contents>"
        "<Contents><Key>clusters/a b/hooks/post/10-x.sh</Key><Size>7</Size></Contents>"
        "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>"
        "</ListBucketResult>";
    struct aws_s3_objects o = {0};
    char *next;
    CHECK_INT(aws_s3_parse_list(list, strlen(list), &o, &next), 0);
    CHECK_INT(o.n, 2);
    CHECK_STR(next, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
    free(next);
    if (o.n == 2) {
        CHECK_STR(o.v[0].etag, "\"d41d8\"");
        CHECK_INT(o.v[0].size, 120);
        CHECK_STR(o.v[1].key, "clusters/a b/hooks/post/10-x.sh");
    }
    aws_s3_objects_free(&o);

    /* encoding-type=url: keys come percent-encoded, '+' meaning a space. */
    static const char encoded[] =
        "<ListBucketResult><EncodingType>url</EncodingType><IsTruncated>false</IsTruncated>"
        "<Contents><Key>a+b%2Bc/%01%E2%82%AC</Key><Size>1</Size></Contents></ListBucketResult>";
    CHECK_INT(aws_s3_parse_list(encoded, strlen(encoded), &o, &next), 0);
    CHECK_INT(o.n, 1);
    CHECK(next == NULL);
    if (o.n)
        CHECK_STR(o.v[0].key, "a b+c/\x01\xE2\x82\xAC");
    aws_s3_objects_free(&o);

    static const char ident[] =
        "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
        "<GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/Alice</Arn>"
        "<UserId>AIDAEXAMPLE</UserId><Account>123456789012</Account></GetCallerIdentityResult>"
        "<ResponseMetadata><RequestId>01234567-89ab</RequestId></ResponseMetadata>"
        "</GetCallerIdentityResponse>";
    struct aws_identity id;
    CHECK_INT(aws_sts_parse_identity(ident, strlen(ident), &id), 0);
    CHECK_STR(id.account, "123456789012");
    CHECK_STR(id.arn, "arn:aws:iam::123456789012:user/Alice");
    CHECK_INT(aws_sts_parse_identity(list, strlen(list), &id), -EPROTO);
}

static void test_error_documents(void)
{
    struct aws_error e;
    static const char ec2[] = "<Response><Errors><Error><Code>InvalidKeyPair.NotFound</Code>"
                              "<Message>The key pair 'x' does not exist</Message></Error></Errors>"
                              "<RequestID>ea966190</RequestID></Response>";
    aws_error_clear(&e);
    CHECK_INT(aws_parse_error_xml(ec2, strlen(ec2), &e), 0);
    CHECK_STR(e.code, "InvalidKeyPair.NotFound");
    CHECK_STR(e.request_id, "ea966190");
    static const char s3[] = "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist."
                             "</Message><Key>k</Key><RequestId>4442587F</RequestId></Error>";
    aws_error_clear(&e);
    CHECK_INT(aws_parse_error_xml(s3, strlen(s3), &e), 0);
    CHECK_STR(e.code, "NoSuchKey");
    CHECK_STR(e.request_id, "4442587F");
    static const char sts[] = "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code>"
                              "<Message>The security token included in the request is invalid.</Message>"
                              "</Error><RequestId>c6104cbe</RequestId></ErrorResponse>";
    aws_error_clear(&e);
    CHECK_INT(aws_parse_error_xml(sts, strlen(sts), &e), 0);
    CHECK_STR(e.code, "InvalidClientTokenId");
    CHECK_STR(e.request_id, "c6104cbe");
    CHECK_INT(aws_error_errno(403, e.code), -EACCES);
    CHECK_INT(aws_error_errno(404, "NoSuchBucket"), -ENOENT);
    CHECK_INT(aws_error_errno(400, "InvalidKeyPair.NotFound"), -ENOENT);
    CHECK_INT(aws_error_errno(412, "PreconditionFailed"), AWS_ERR_PRECONDITION);
    CHECK_INT(aws_error_errno(409, "ConditionalRequestConflict"), AWS_ERR_PRECONDITION);
    CHECK_INT(aws_error_errno(400, "IdempotentParameterMismatch"), -EEXIST);
    CHECK_INT(aws_error_errno(503, "SlowDown"), -EAGAIN);
    CHECK_INT(aws_error_errno(400, "InvalidParameterValue"), -EINVAL);
    aws_error_clear(&e);
    CHECK(aws_parse_error_xml("<html>oops", 10, &e) != 0);
    CHECK(aws_parse_error_xml("", 0, &e) != 0);
}

static void test_hostile_documents(void)
{
    /* Not well-formed, too deep, entity tricks: refused, not crashed. */
    CHECK(aws_xml_parse("<a><b></a>", 10) == NULL);
    CHECK(aws_xml_parse("<a/><b/>", 8) == NULL);
    struct aws_buf deep = {0};
    for (int i = 0; i < 100; i++)
        aws_buf_puts(&deep, "<a>");
    for (int i = 0; i < 100; i++)
        aws_buf_puts(&deep, "</a>");
    CHECK(aws_xml_parse(deep.data, deep.len) == NULL);
    aws_buf_free(&deep);
    static const char ext[] = "<!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><a>&x;</a>";
    struct aws_xml *x = aws_xml_parse(ext, strlen(ext));
    CHECK(x == NULL || strstr(aws_xml_text(x, ""), "root:") == NULL);
    aws_xml_free(x);
    static const char lol[] =
        "<!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">"
        "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\"><!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">"
        "<!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\"><!ENTITY f \"&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;\">"
        "<!ENTITY g \"&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;\"><!ENTITY h \"&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;\">]>"
        "<l>&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;</l>";
    x = aws_xml_parse(lol, strlen(lol));
    CHECK(x == NULL);      /* expat's amplification guard stops it */
    aws_xml_free(x);
}

int main(void)
{
    RUN(test_describe_instances);
    RUN(test_other_ec2_answers);
    RUN(test_s3_and_sts);
    RUN(test_error_documents);
    RUN(test_hostile_documents);
    return check_finish();
}
