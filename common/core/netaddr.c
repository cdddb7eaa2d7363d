/* SPDX-License-Identifier: ISC */
/*
 * netaddr.c: which network addresses and service URLs are acceptable
 * (SPEC section 9).
 *
 * Two rules live here so that every client applies them the same way.
 * First, a service URL that carries a secret (the Telegram bot token in
 * the path, the Supabase service key, the ElevenLabs key, the Dzine
 * session) may use plain http only to this machine: the host must be a
 * literal address in 127.0.0.0/8, the literal [::1], or exactly the name
 * localhost.  Anything else must be https, and the check happens before
 * any connection is made.  Second, netaddr_blocked() classifies an
 * address a fetch of outside content has connected to: loopback, private,
 * shared (CGNAT), link-local (with the cloud metadata address), multicast,
 * reserved and unspecified addresses, in IPv4, IPv6 and IPv4-mapped IPv6,
 * are named so the caller can refuse them.
 *
 * A third, looser rule is for a link this project only shows to the
 * operator (RAYVAULT_DASHBOARD_URL in Telegram buttons): netaddr_link_check()
 * takes http:// or https:// to any host (where the operator's browser
 * reaches the dashboard is the operator's choice), with the same rules
 * for characters, user info, host and port, and no query or fragment.
 *
 * They are pure functions: no resolving, no I/O, no logging.
 *
 * Public: netaddr_url_check, netaddr_link_check, netaddr_blocked,
 * netaddr_text.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/core/errbuf.h"
#include "common/core/netaddr.h"

/* Is <host> (no brackets, no port) a loopback literal or "localhost"? */
static bool
host_local(const char *host, bool bracketed)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (bracketed)
		return inet_pton(AF_INET6, host, &a6) == 1 &&
		    IN6_IS_ADDR_LOOPBACK(&a6);
	if (strcasecmp(host, "localhost") == 0)
		return true;
	/* inet_pton takes only the dotted quad: "127.1" or "127.x.com" fail. */
	return inet_pton(AF_INET, host, &a4) == 1 &&
	    (ntohl(a4.s_addr) >> 24) == 127;
}

/*
 * The checks both URL rules share: scheme, characters, user info, host,
 * port.  <any_http> leaves out the loopback rule for http://.
 */
static int
url_check(const char *name, const char *url, bool any_http, char *err,
    size_t errlen)
{
	char host[256];
	const char *auth, *end, *hend, *p;
	bool bracketed = false;
	size_t n;

	if (strncasecmp(url, "https://", 8) == 0)
		auth = url + 8;
	else if (strncasecmp(url, "http://", 7) == 0)
		auth = url + 7;
	else if (any_http)
		return errbuf_set(err, errlen, -1, "%s: must start with "
		    "http:// or https://", name);
	else
		return errbuf_set(err, errlen, -1, "%s: must start with "
		    "https:// (or http:// to 127.0.0.0/8, [::1] or localhost)",
		    name);
	for (p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return errbuf_set(err, errlen, -1, "%s: holds a space, "
			    "a control character or a non-ASCII byte", name);
	end = auth + strcspn(auth, "/?#");
	if (memchr(auth, '@', (size_t)(end - auth)) != NULL)
		return errbuf_set(err, errlen, -1, "%s: must not carry a user "
		    "name or password", name);
	if (*auth == '[') {
		bracketed = true;
		auth++;
		if ((hend = memchr(auth, ']', (size_t)(end - auth))) == NULL)
			return errbuf_set(err, errlen, -1, "%s: unclosed '[' "
			    "in the host", name);
		p = hend + 1;
	} else {
		hend = auth + strcspn(auth, ":/?#");
		p = hend;
	}
	if ((n = (size_t)(hend - auth)) == 0 || n >= sizeof(host))
		return errbuf_set(err, errlen, -1, "%s: no host, or a host "
		    "longer than %zu characters", name, sizeof(host) - 1);
	if (p < end && (*p != ':' || p + 1 == end ||
	    strspn(p + 1, "0123456789") != (size_t)(end - p - 1)))
		return errbuf_set(err, errlen, -1, "%s: the port must be "
		    "digits after ':'", name);
	if (url[4] == 's' || url[4] == 'S' || any_http)
		return 0;
	memcpy(host, auth, n);
	host[n] = '\0';
	if (!host_local(host, bracketed))
		return errbuf_set(err, errlen, -1, "%s: http:// is allowed "
		    "only to 127.0.0.0/8, [::1] or localhost (what it carries "
		    "would travel in clear); use https://", name);
	return 0;
}

int
netaddr_url_check(const char *name, const char *url, char *err,
    size_t errlen)
{
	return url_check(name, url, false, err, errlen);
}

int
netaddr_link_check(const char *name, const char *url, char *err,
    size_t errlen)
{
	if (url_check(name, url, true, err, errlen) == -1)
		return -1;
	if (strpbrk(url, "?#") != NULL)
		return errbuf_set(err, errlen, -1, "%s: must not hold a query "
		    "or a fragment ('?', '#'): paths are appended to it", name);
	return 0;
}

static const char *
v4_class(uint32_t a)
{
	if ((a >> 24) == 0)
		return "unspecified";			/* 0.0.0.0/8 */
	if ((a >> 24) == 10)
		return "private";			/* 10/8 */
	if ((a & 0xffc00000U) == 0x64400000U)
		return "shared (CGNAT)";		/* 100.64/10 */
	if ((a >> 24) == 127)
		return "loopback";			/* 127/8 */
	if (a == 0xa9fea9feU)
		return "cloud metadata";		/* 169.254.169.254 */
	if ((a >> 16) == 0xa9fe)
		return "link-local";			/* 169.254/16 */
	if ((a & 0xfff00000U) == 0xac100000U)
		return "private";			/* 172.16/12 */
	if ((a >> 16) == 0xc0a8)
		return "private";			/* 192.168/16 */
	if ((a >> 28) == 0xe)
		return "multicast";			/* 224/4 */
	if ((a >> 28) == 0xf)
		return "reserved";		/* 240/4, 255.255.255.255 */
	return NULL;
}

static const char *
v6_class(const uint8_t *b)
{
	static const uint8_t zero[16];
	static const uint8_t nat64[12] = { 0x00, 0x64, 0xff, 0x9b };
	uint32_t v4;

	if (memcmp(b, zero, 15) == 0 && b[15] == 1)
		return "loopback";			/* ::1 */
	if (memcmp(b, zero, 16) == 0)
		return "unspecified";			/* :: */
	/* ::ffff:a.b.c.d and 64:ff9b::a.b.c.d (NAT64) carry an IPv4 address */
	if ((memcmp(b, zero, 10) == 0 && b[10] == 0xff && b[11] == 0xff) ||
	    memcmp(b, nat64, 12) == 0 || memcmp(b, zero, 12) == 0) {
		v4 = (uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 |
		    (uint32_t)b[14] << 8 | b[15];
		return v4_class(v4);
	}
	if ((b[0] & 0xfe) == 0xfc)
		return "private (unique local)";	/* fc00::/7 */
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
		return "link-local";			/* fe80::/10 */
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)
		return "site-local";			/* fec0::/10 */
	if (b[0] == 0xff)
		return "multicast";			/* ff00::/8 */
	return NULL;
}

const char *
netaddr_blocked(const struct sockaddr *sa, size_t salen)
{
	const struct sockaddr_in *s4;
	const struct sockaddr_in6 *s6;

	if (sa == NULL)
		return "unknown";
	if (sa->sa_family == AF_INET && salen >= sizeof(*s4)) {
		s4 = (const struct sockaddr_in *)(const void *)sa;
		return v4_class(ntohl(s4->sin_addr.s_addr));
	}
	if (sa->sa_family == AF_INET6 && salen >= sizeof(*s6)) {
		s6 = (const struct sockaddr_in6 *)(const void *)sa;
		return v6_class(s6->sin6_addr.s6_addr);
	}
	return "not an IP address";
}

const char *
netaddr_text(const struct sockaddr *sa, size_t salen, char *buf, size_t size)
{
	const struct sockaddr_in *s4;
	const struct sockaddr_in6 *s6;

	if (size == 0)
		return buf;
	(void)snprintf(buf, size, "?");
	if (sa == NULL)
		return buf;
	if (sa->sa_family == AF_INET && salen >= sizeof(*s4)) {
		s4 = (const struct sockaddr_in *)(const void *)sa;
		(void)inet_ntop(AF_INET, &s4->sin_addr, buf, (socklen_t)size);
	} else if (sa->sa_family == AF_INET6 && salen >= sizeof(*s6)) {
		s6 = (const struct sockaddr_in6 *)(const void *)sa;
		(void)inet_ntop(AF_INET6, &s6->sin6_addr, buf,
		    (socklen_t)size);
	}
	return buf;
}
