/* Node state words. Slurm describes a node by one base state (IDLE,
 * ALLOCATED, MIXED, DOWN, ERROR, FUTURE, UNKNOWN) plus flags (CLOUD, DRAIN,
 * POWERED_DOWN, COMPLETING, NOT_RESPONDING, ...). This file turns that into
 * the single lower-case word `sinfo -o %T` shows (the rules of Slurm's
 * node_state_string), except that sinfo's one-character suffixes become
 * words for idle nodes: idle~ -> powered_down, idle# -> powering_up,
 * idle% -> powering_down, idle! -> power_down; other suffixes (*, $, @, ^,
 * -) are dropped, the flags list still carries them. */
#ifndef PCFS_SLURM_STATE_H
#define PCFS_SLURM_STATE_H
#include <stdbool.h>
#include <stddef.h>

/* True for the names of Slurm base states (any case). */
bool slurm_state_is_base(const char *word);

/* Writes the word for base + flags (flags in upper case) into out. */
void slurm_state_word(const char *base, const char *const *flags,
                      size_t nflags, char *out, size_t outlen);

#endif
