/* SPDX-License-Identifier: ISC */
/*
 * curl_dl_test: libcurl is loaded on first use, not at start.
 *  - before any curl call the process has not mapped libcurl; the first
 *    call maps it, and a transfer through the table works end to end
 *    (a file:// URL read through a write callback, its size read back
 *    with curl_easy_getinfo: the variadic calls are forwarded);
 *  - a libcurl that cannot be loaded (RV_TEST_LIBCURL naming a missing
 *    file, in a child process: the load happens once per process) makes
 *    every call fail as libcurl reports failures, and curl_dl_error()
 *    names the library.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/core/curl_dl.h"
#include "tests/unit/test.h"

/*
 * Is a file whose name holds <what> mapped into this process?  Without
 * /proc (macOS) say what curl_dl says.
 */
static bool
mapped(const char *what)
{
	char line[1024];
	FILE *fp;
	bool found = false;

	if ((fp = fopen("/proc/self/maps", "r")) == NULL)
		return curl_dl_loaded();
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strstr(line, what) != NULL)
			found = true;
	fclose(fp);
	return found;
}

struct sink {
	char	buf[256];
	size_t	len;
};

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t k = size * n;

	if (k > sizeof(s->buf) - 1 - s->len)
		k = sizeof(s->buf) - 1 - s->len;
	memcpy(s->buf + s->len, p, k);
	s->len += k;
	s->buf[s->len] = '\0';
	return size * n;
}

/* In a child: a missing library; the exit status counts the failures. */
static int
missing_library(void)
{
	int bad = 0;

	setenv("RV_TESTING", "1", 1);
	setenv("RV_TEST_LIBCURL", "/nonexistent/libcurl-rv-test.so.4", 1);
	bad += curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_FAILED_INIT;
	bad += curl_easy_init() != NULL;
	bad += curl_multi_init() != NULL;
	bad += curl_slist_append(NULL, "x") != NULL;
	bad += curl_easy_setopt(NULL, CURLOPT_URL, "file:///") !=
	    CURLE_FAILED_INIT;
	bad += strstr(curl_dl_error(), "libcurl-rv-test.so.4") == NULL;
	bad += curl_dl_loaded();
	if (bad)
		fprintf(stderr, "missing library: %d wrong, error \"%s\"\n",
		    bad, curl_dl_error());
	return bad;
}

int
main(void)
{
	char path[] = "/tmp/rv-curl-dl.XXXXXX", url[64];
	struct sink s = { "", 0 };
	curl_off_t got = -1;
	CURLcode rc;
	CURL *h;
	pid_t pid;
	int fd, st;

	/* the failure path first, in a child (one load per process) */
	if ((pid = fork()) == 0)
		_exit(missing_library());
	CHECK("missing library", pid > 0 && waitpid(pid, &st, 0) == pid &&
	    WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d", st);

	CHECK("not mapped at start", !mapped("libcurl"),
	    "libcurl is mapped before any curl call");
	CHECK("not loaded at start", !curl_dl_loaded(), "loaded");
	CHECK("global init", curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK,
	    "failed: %s", curl_dl_error());
	CHECK("mapped after first call", mapped("libcurl") && curl_dl_loaded(),
	    "libcurl not mapped after curl_global_init");
	CHECK("no error", curl_dl_error()[0] == '\0', "%s", curl_dl_error());

	if ((fd = mkstemp(path)) == -1 || write(fd, "hello, curl\n", 12) != 12)
		return 2;
	close(fd);
	snprintf(url, sizeof(url), "file://%s", path);
	h = curl_easy_init();
	CHECK("easy init", h != NULL, "NULL handle");
	if (h != NULL) {
		(void)curl_easy_setopt(h, CURLOPT_URL, url);
		(void)curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
		(void)curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
		rc = curl_easy_perform(h);
		CHECK("perform", rc == CURLE_OK, "%s", curl_easy_strerror(rc));
		CHECK("body", strcmp(s.buf, "hello, curl\n") == 0, "got \"%s\"",
		    s.buf);
		(void)curl_easy_getinfo(h, CURLINFO_SIZE_DOWNLOAD_T, &got);
		CHECK("getinfo", got == 12, "downloaded %lld bytes",
		    (long long)got);
		curl_easy_cleanup(h);
	}
	unlink(path);
	curl_global_cleanup();
	return test_exit();
}
