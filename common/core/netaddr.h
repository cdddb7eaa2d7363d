/* SPDX-License-Identifier: ISC */
#ifndef RV_COMMON_CORE_NETADDR_H
#define RV_COMMON_CORE_NETADDR_H

#include <stddef.h>

struct sockaddr;

/*
 * Check the service URL <url> of setting <name>: https:// to any host, or
 * http:// only when the host is a literal address in 127.0.0.0/8, the
 * literal [::1] or exactly "localhost" (any case); no user info, no
 * spaces or control characters, a port only as digits.  Returns 0, or -1
 * with one line in <err> that starts with <name> and never quotes the URL
 * (it may hold a token).
 */
int	netaddr_url_check(const char *name, const char *url, char *err,
	    size_t errlen);

/*
 * Check the link <url> of setting <name> that is only shown to the
 * operator, never fetched with a secret: http:// or https:// to any host,
 * the other rules of netaddr_url_check(), and no query or fragment.
 * Returns 0, or -1 with one line in <err> that starts with <name>.
 */
int	netaddr_link_check(const char *name, const char *url, char *err,
	    size_t errlen);

/*
 * Why the address <sa> (<salen> bytes) must not be connected to when
 * fetching outside content: "loopback", "private", "shared (CGNAT)",
 * "link-local", "cloud metadata", "multicast", "reserved", "unspecified",
 * "private (unique local)", "site-local" (IPv4-mapped and NAT64 IPv6
 * addresses are judged by their IPv4 address), "not an IP address" for
 * other families; NULL for a public address.
 */
const char *netaddr_blocked(const struct sockaddr *sa, size_t salen);

/* <sa> as text ("192.0.2.1", "::1") in <buf>; "?" when unknown.  */
const char *netaddr_text(const struct sockaddr *sa, size_t salen, char *buf,
	    size_t size);

#endif
