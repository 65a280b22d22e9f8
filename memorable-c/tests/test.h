/* Shared helpers of the C tests: a tiny run_test driver (in the style of rust-lang/regex's
 * regex-capi ctest/test.c), checks that print where they failed, and temporary store
 * directories. Each test is `static bool test_x(void)` returning true when it passed. */
#ifndef MEMORABLE_TEST_H
#define MEMORABLE_TEST_H

#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "memorable.h"

/* Fail the current test (return false) with a message when `cond` does not hold. */
#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "  %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            return false;                                                              \
        }                                                                              \
    } while (0)

/* A call must succeed; otherwise print its error and fail the test. */
#define CHECK_OK(call)                                                                   \
    do {                                                                                 \
        memorable_error *err_ = (call);                                                  \
        if (err_ != NULL) {                                                              \
            fprintf(stderr, "  %s:%d: %s failed: [%u] %s\n", __FILE__, __LINE__, #call, \
                    memorable_error_code(err_), memorable_error_message(err_));          \
            memorable_error_free(err_);                                                  \
            return false;                                                                \
        }                                                                                \
    } while (0)

/* A call must fail with `code` and a non-empty message. */
#define CHECK_ERR(call, code)                                                                   \
    do {                                                                                        \
        memorable_error *err_ = (call);                                                         \
        if (!expect_error(err_, (code), #call, __FILE__, __LINE__)) return false;               \
    } while (0)

/* (pointer, length) of a string literal or C string. */
#define S(str) (str), strlen(str)

static inline bool expect_error(memorable_error *err, uint32_t code, const char *call, const char *file,
                         int line) {
    if (err == NULL) {
        fprintf(stderr, "  %s:%d: %s succeeded, expected error %u\n", file, line, call, code);
        return false;
    }
    uint32_t got = memorable_error_code(err);
    const char *msg = memorable_error_message(err);
    bool ok = got == code && msg != NULL && msg[0] != '\0';
    if (!ok) {
        fprintf(stderr, "  %s:%d: %s: expected error %u, got [%u] %s\n", file, line, call, code,
                got, msg ? msg : "(null message)");
    }
    memorable_error_free(err);
    return ok;
}

static inline void run_test(bool (*test)(void), const char *name, bool *passed) {
    if (!test()) {
        *passed = false;
        fprintf(stderr, "FAILED: %s\n", name);
    } else {
        fprintf(stderr, "PASSED: %s\n", name);
    }
}

/* A fresh temporary directory (its path is written into buf). */
static inline bool make_temp_dir(char *buf, size_t size) {
    const char *base = getenv("TMPDIR");
    snprintf(buf, size, "%s/memorable-ctest-XXXXXX", base && *base ? base : "/tmp");
    return mkdtemp(buf) != NULL;
}

static inline int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static inline void remove_dir(const char *path) {
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Options opening a store with the built-in hashing embedder: fast and deterministic. Every
 * test that does not need a real sentence model uses them, because with MiniLM in the model
 * cache NULL options load it (~100 sentences/s, far slower under valgrind). */
static inline const memorable_options *hashing(void) {
    static const memorable_options opts = {.config_json = "{\"embedder\": \"hashing\"}"};
    return &opts;
}

/* The unsigned number after `"key":` in `json` (the tests' tiny JSON reader). */
static inline bool json_u64(const char *json, const char *key, unsigned long long *out) {
    char needle[64];
    snprintf(needle, sizeof needle, "\"%s\":", key);
    const char *at = json ? strstr(json, needle) : NULL;
    return at != NULL && sscanf(at + strlen(needle), "%llu", out) == 1;
}

/* Whether `json` contains `needle` (the tests check JSON outputs by substring). */
static inline bool contains(const char *json, const char *needle) {
    return json != NULL && strstr(json, needle) != NULL;
}

#endif /* MEMORABLE_TEST_H */
