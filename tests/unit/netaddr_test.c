/* SPDX-License-Identifier: ISC */
/*
 * netaddr_test: the address classes an outside fetch must refuse, one
 * table row per range edge (first, last and the first address outside),
 * IPv4, IPv6, IPv4-mapped and NAT64; and the service URL rule: https to
 * anywhere, plain http only to 127.0.0.0/8, [::1] and localhost, with
 * look-alike hosts, user info and bad ports refused by setting name.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>

#include "common/core/netaddr.h"
#include "tests/unit/test.h"

struct addr_case {
	const char	*addr;
	const char	*want;		/* NULL: public, allowed */
};

static const struct addr_case addrs[] = {
	{ "0.0.0.0", "unspecified" },
	{ "0.255.255.255", "unspecified" },
	{ "1.0.0.0", NULL },
	{ "9.255.255.255", NULL },
	{ "10.0.0.0", "private" },
	{ "10.255.255.255", "private" },
	{ "11.0.0.0", NULL },
	{ "100.63.255.255", NULL },
	{ "100.64.0.0", "shared (CGNAT)" },
	{ "100.127.255.255", "shared (CGNAT)" },
	{ "100.128.0.0", NULL },
	{ "126.255.255.255", NULL },
	{ "127.0.0.1", "loopback" },
	{ "127.8.9.10", "loopback" },
	{ "127.255.255.255", "loopback" },
	{ "128.0.0.0", NULL },
	{ "169.253.255.255", NULL },
	{ "169.254.0.0", "link-local" },
	{ "169.254.169.254", "cloud metadata" },
	{ "169.254.255.255", "link-local" },
	{ "169.255.0.0", NULL },
	{ "172.15.255.255", NULL },
	{ "172.16.0.0", "private" },
	{ "172.31.255.255", "private" },
	{ "172.32.0.0", NULL },
	{ "192.167.255.255", NULL },
	{ "192.168.0.0", "private" },
	{ "192.168.255.255", "private" },
	{ "192.169.0.0", NULL },
	{ "8.8.8.8", NULL },
	{ "223.255.255.255", NULL },
	{ "224.0.0.0", "multicast" },
	{ "239.255.255.255", "multicast" },
	{ "240.0.0.0", "reserved" },
	{ "255.255.255.255", "reserved" },
	{ "::", "unspecified" },
	{ "::1", "loopback" },
	{ "::2", "unspecified" },
	{ "::ffff:127.0.0.1", "loopback" },
	{ "::ffff:10.1.2.3", "private" },
	{ "::ffff:169.254.169.254", "cloud metadata" },
	{ "::ffff:8.8.8.8", NULL },
	{ "64:ff9b::a9fe:a9fe", "cloud metadata" },
	{ "64:ff9b::808:808", NULL },
	{ "fbff:ffff::1", NULL },
	{ "fc00::", "private (unique local)" },
	{ "fd00:ec2::254", "private (unique local)" },
	{ "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "private (unique local)" },
	{ "fe7f:ffff::1", NULL },
	{ "fe80::", "link-local" },
	{ "febf:ffff::1", "link-local" },
	{ "fec0::1", "site-local" },
	{ "ff00::", "multicast" },
	{ "ff02::1", "multicast" },
	{ "2001:4860:4860::8888", NULL },
	{ "2606:4700::1111", NULL },
};

struct url_case {
	const char	*url;
	int		 want;		/* 0 accepted, -1 refused */
	const char	*in_err;	/* part of the error, besides the name */
};

static const struct url_case urls[] = {
	{ "https://api.telegram.org", 0, NULL },
	{ "https://x.supabase.co/rest/v1", 0, NULL },
	{ "HTTPS://api.elevenlabs.io:443/", 0, NULL },
	{ "https://10.0.0.1", 0, NULL },
	{ "http://127.0.0.1", 0, NULL },
	{ "http://127.0.0.1:8080/bot", 0, NULL },
	{ "http://127.8.9.10:1/x", 0, NULL },
	{ "http://localhost:5000", 0, NULL },
	{ "http://LOCALHOST/", 0, NULL },
	{ "http://[::1]:9/", 0, NULL },
	{ "http://[0:0:0:0:0:0:0:1]", 0, NULL },
	{ "http://127.evil.com", -1, "http:// is allowed only" },
	{ "http://127.0.0.1.evil.example", -1, "http:// is allowed only" },
	{ "http://localhost.evil.com", -1, "http:// is allowed only" },
	{ "http://10.0.0.1", -1, "http:// is allowed only" },
	{ "http://127.1", -1, "http:// is allowed only" },
	{ "http://[::2]", -1, "http:// is allowed only" },
	{ "http://[::ffff:127.0.0.1]", -1, "http:// is allowed only" },
	{ "http://api.telegram.org", -1, "http:// is allowed only" },
	{ "http://127.0.0.1@evil.example", -1, "user name" },
	{ "https://u:p@x.example", -1, "user name" },
	{ "http://127.0.0.1:80x", -1, "port" },
	{ "http://127.0.0.1:", -1, "port" },
	{ "http://[::1", -1, "unclosed" },
	{ "http://", -1, "no host" },
	{ "http:///x", -1, "no host" },
	{ "ftp://127.0.0.1", -1, "must start with https://" },
	{ "127.0.0.1", -1, "must start with https://" },
	{ "http://127.0.0.1/a b", -1, "space" },
	{ "", -1, "must start with" },
};

static const struct url_case links[] = {
	{ "http://127.0.0.1:8787", 0, NULL },
	{ "http://10.8.0.2:8787/rv/", 0, NULL },
	{ "http://ops.example.net", 0, NULL },
	{ "https://[fd00::2]:8787", 0, NULL },
	{ "HTTPS://rv.example.net/dash", 0, NULL },
	{ "ftp://ops.example", -1, "must start with http:// or https://" },
	{ "ops.example", -1, "must start with http:// or https://" },
	{ "", -1, "must start with http:// or https://" },
	{ "https://ops.example/?token=1", -1, "query" },
	{ "https://ops.example/#x", -1, "fragment" },
	{ "http://op:pw@ops.example", -1, "user name" },
	{ "http://ops.example:x", -1, "port" },
	{ "http://[::1", -1, "unclosed" },
	{ "http:///runs", -1, "no host" },
	{ "http://ops.example/\x01", -1, "control character" },
};

static void
test_addr(const struct addr_case *c)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	const char *got;
	char text[64];
	size_t len;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, c->addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		len = sizeof(*s4);
	} else if (inet_pton(AF_INET6, c->addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		len = sizeof(*s6);
	} else {
		CHECK(c->addr, 0, "the table holds a bad address");
		return;
	}
	got = netaddr_blocked((struct sockaddr *)&ss, len);
	CHECK(c->addr, c->want == NULL ? got == NULL : got != NULL &&
	    strcmp(got, c->want) == 0, "got %s, want %s",
	    got != NULL ? got : "(allowed)", c->want != NULL ? c->want :
	    "(allowed)");
	netaddr_text((struct sockaddr *)&ss, len, text, sizeof(text));
	CHECK(c->addr, strchr(text, '?') == NULL && strlen(text) > 1,
	    "text %s", text);
}

int
main(void)
{
	struct sockaddr_in sa;
	char err[256], text[64];
	size_t i;
	int r;

	for (i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++)
		test_addr(&addrs[i]);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_UNIX;
	CHECK("other family", netaddr_blocked((struct sockaddr *)&sa,
	    sizeof(sa)) != NULL, "allowed");
	sa.sin_family = AF_INET;
	CHECK("short sockaddr", netaddr_blocked((struct sockaddr *)&sa, 4) !=
	    NULL, "allowed");
	CHECK("null", netaddr_blocked(NULL, 0) != NULL, "allowed");
	CHECK("text of null", strcmp(netaddr_text(NULL, 0, text,
	    sizeof(text)), "?") == 0, "%s", text);

	for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		err[0] = '\0';
		r = netaddr_url_check("TELEGRAM_API_BASE", urls[i].url, err,
		    sizeof(err));
		CHECK(urls[i].url, r == urls[i].want, "rc %d: %s", r, err);
		if (urls[i].want == 0)
			continue;
		CHECK(urls[i].url, strncmp(err, "TELEGRAM_API_BASE: ",
		    19) == 0 && strstr(err, urls[i].in_err) != NULL,
		    "error \"%s\" lacks the name or \"%s\"", err,
		    urls[i].in_err);
		CHECK(urls[i].url, urls[i].url[0] == '\0' ||
		    strstr(err, urls[i].url) == NULL,
		    "error quotes the URL: %s", err);
	}
	/* A link only shown to the operator: http to any host. */
	for (i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		err[0] = '\0';
		r = netaddr_link_check("RAYVAULT_DASHBOARD_URL", links[i].url,
		    err, sizeof(err));
		CHECK(links[i].url, r == links[i].want, "rc %d: %s", r, err);
		if (links[i].want == 0)
			continue;
		CHECK(links[i].url, strncmp(err, "RAYVAULT_DASHBOARD_URL: ",
		    24) == 0 && strstr(err, links[i].in_err) != NULL,
		    "error \"%s\" lacks the name or \"%s\"", err,
		    links[i].in_err);
	}
	return test_exit();
}
