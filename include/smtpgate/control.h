/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The control protocol's words, written once for both ends: the command
 * names and the reply codes that smtpgated answers with and smtpgatectl
 * turns into exit codes.  docs/control-protocol.md describes each.
 */
#ifndef SMTPGATE_CONTROL_H
#define SMTPGATE_CONTROL_H

/* ---- commands ("command" of a request) ---- */
#define SG_CTL_STATUS     "status"
#define SG_CTL_TRUST_ADD  "trust.add"
#define SG_CTL_TRUST_DEL  "trust.del"
#define SG_CTL_TRUST_LIST "trust.list"
#define SG_CTL_TRUST_IMPORT "trust.import"
#define SG_CTL_RELAY_LIST "relay.list"
#define SG_CTL_BAN_ADD    "ban.add"
#define SG_CTL_BAN_DEL    "ban.del"
#define SG_CTL_BAN_LIST   "ban.list"
#define SG_CTL_STATS      "stats"
#define SG_CTL_RELOAD     "reload"
#define SG_CTL_AUDIT      "audit"

/* ---- reply codes ("code" of a failure) and smtpgatectl's exit ---- */
/* The request or an argument is invalid; nothing changed.  Exit 2. */
#define SG_CTL_E_INVALID   "invalid_argument"
/* e.g. trust.add of a prefix already trusted; nothing changed.  Exit 2:
 * to the operator a duplicate is an invalid argument like any other. */
#define SG_CTL_E_CONFLICT  "conflict"
/* The peer may not do this.  Exit 1. */
#define SG_CTL_E_DENIED    "permission_denied"
/* e.g. trust.del of a prefix that is not an approval.  Exit 1. */
#define SG_CTL_E_NOT_FOUND "not_found"
/* The change could not be made; nothing changed.  Exit 1. */
#define SG_CTL_E_FAILED    "failed"
/* With a fleet store: the record changed in the store since this
 * gateway saw it (another gateway won a race); nothing changed.  Exit 1. */
#define SG_CTL_E_CHANGED   "changed_meanwhile"
/* A reload was in progress for longer than a change may wait for it
 * (30 s); nothing changed, try again.  Changes that arrive during a
 * reload wait for it first, in their order of arrival.  Exit 4. */
#define SG_CTL_E_RELOADING "reload_in_progress"

#endif
