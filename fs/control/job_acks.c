/* Reading and telling the head's answers for jobs/; see job_acks.h. */
#include "fs/control/job_acks.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/control/observe.h"
#include "fs/model/job_ack.h"
#include "fs/store/events.h"
#include "fs/store/layout.h"
#include "slurm/slurmrest.h"

static int add_ack(struct observed_cluster *oc, const char *name, bool cancel,
                   const struct job_ack *a)
{
    struct observed_job_ack *grown =
        realloc(oc->job_acks, (oc->n_job_acks + 1) * sizeof(*grown));
    if (!grown)
        return -ENOMEM;
    oc->job_acks = grown;
    struct observed_job_ack *o = &grown[oc->n_job_acks];
    *o = (struct observed_job_ack){strdup(name), cancel, a->ok, a->job_id, strdup(a->message)};
    if (!o->name || !o->message) {
        free(o->name);
        free(o->message);
        return -ENOMEM;
    }
    oc->n_job_acks++;
    return 0;
}

int job_acks_read(struct reconcile_ctx *rc, const struct desired_cluster *dc,
                  struct observed_cluster *oc)
{
    int nomem = 0;
    for (size_t i = 0; i < dc->n_objects; i++) {
        enum layout_job kind;
        char name[256], msg[256];
        const char *rest = dc->objects[i].rest;
        if (!layout_job_of(rest, &kind, name, sizeof(name)) ||
            (kind != LAYOUT_JOB_ACK && kind != LAYOUT_JOB_CANCEL_ACK))
            continue;
        bool cancel = kind == LAYOUT_JOB_CANCEL_ACK;
        struct blob *b = NULL;
        int r = observe_listed_object(rc, dc, rest, &b);
        if (r == -ENOMEM) {
            nomem = r;
            continue;
        }
        if (r != 0)
            continue; /* gone since the listing, or unreadable now: next pass */
        struct job_ack a;
        if (job_ack_parse(b->data, b->len, cancel, &a, msg, sizeof(msg)) != 0)
            snprintf(a.message, sizeof(a.message), "%s", msg); /* told as a failure */
        blob_unref(b);
        if (add_ack(oc, name, cancel, &a) != 0)
            nomem = -ENOMEM;
    }
    return nomem;
}

/* Appends line once: not when the cluster's events already hold it. */
static void tell_once(struct reconcile_ctx *rc, const struct desired_cluster *dc, bool ok,
                      const char *line)
{
    const struct blob *ev = dc->events;
    if (ev && memmem(ev->data, ev->len, line, strlen(line)))
        return;
    events_append(rc->store, dc->name, ok ? "info" : "error", "%s", line);
}

void job_acks_tell(struct reconcile_ctx *rc, const struct desired_cluster *dc,
                   const struct observed_cluster *oc)
{
    for (size_t i = 0; oc && i < oc->n_job_acks; i++) {
        const struct observed_job_ack *a = &oc->job_acks[i];
        char line[1024];
        if (a->cancel)
            snprintf(line, sizeof(line), "jobs/%s: the head %s%s%s", a->name,
                     a->ok ? "cancelled it" : "could not cancel it",
                     a->message[0] ? ": " : "", a->message);
        else if (a->ok)
            snprintf(line, sizeof(line), "jobs/%s: the head submitted it to Slurm as job %lld "
                     "(jobs/%lld/)", a->name, a->job_id, a->job_id);
        else
            snprintf(line, sizeof(line), "jobs/%s: not submitted: %s", a->name,
                     a->message[0] ? a->message : "the head gave no reason");
        tell_once(rc, dc, a->ok, line);
    }
}

static bool slurm_holds(const struct observed_cluster *oc, const char *id)
{
    for (size_t i = 0; i < oc->jobs->count; i++) {
        char buf[24];
        snprintf(buf, sizeof(buf), "%lld", (long long)oc->jobs->jobs[i].job_id);
        if (strcmp(buf, id) == 0)
            return true;
    }
    return false;
}

/* Deletes the object of kind and name, then its answer; false on failure. */
static bool remove_pair(struct reconcile_ctx *rc, const struct desired_cluster *dc,
                        enum layout_job kind, enum layout_job answer, const char *name)
{
    char *key = layout_job_key(dc->name, kind, name);
    char *ack = layout_job_key(dc->name, answer, name);
    char err[512] = "";
    bool ok = key && ack && cloud_delete(rc->cloud, key, err, sizeof(err)) == 0 &&
              cloud_delete(rc->cloud, ack, err, sizeof(err)) == 0;
    if (!ok)
        fprintf(stderr, "pclusterfs: %s: removing jobs/%s: %s\n", dc->name, name, err);
    free(key);
    free(ack);
    return ok;
}

void job_acks_prune(struct reconcile_ctx *rc, const struct desired_cluster *dc,
                    const struct observed_cluster *oc)
{
    for (size_t i = 0; oc && i < dc->n_objects; i++) {
        enum layout_job kind;
        char name[256], ack_rest[320];
        const struct desired_object *o = &dc->objects[i];
        if (!layout_job_of(o->rest, &kind, name, sizeof(name)) ||
            (kind != LAYOUT_JOB_SUBMIT && kind != LAYOUT_JOB_CANCEL))
            continue;
        enum layout_job answer = kind == LAYOUT_JOB_SUBMIT ? LAYOUT_JOB_ACK : LAYOUT_JOB_CANCEL_ACK;
        snprintf(ack_rest, sizeof(ack_rest), "%s%s", layout_job_rest(answer), name);
        if (!desired_find_object(dc, ack_rest))
            continue; /* not answered yet: the head still has to see it */
        if (kind == LAYOUT_JOB_SUBMIT && o->mtime > 0 &&
            (long long)rc->now - (long long)o->mtime > JOB_RECORD_KEEP_S) {
            if (remove_pair(rc, dc, kind, answer, name))
                events_append(rc->store, dc->name, "info",
                              "jobs/%s: its record is removed, %d days after it was submitted",
                              name, JOB_RECORD_KEEP_S / 86400);
        } else if (kind == LAYOUT_JOB_CANCEL && oc->jobs && !slurm_holds(oc, name)) {
            remove_pair(rc, dc, kind, answer, name);
        }
    }
}
