/* The C timer of the binding-overhead benchmark (driven by memorable-py/bench/bench_binding.py,
 * which compares it with the Rust baseline on the same store and queries).
 *
 *   make -C memorable-c bench
 *   memorable-c/build/bench_binding recall STORE QUERIES_FILE [REPEAT]
 *   memorable-c/build/bench_binding ingest STORE TEXTS_FILE
 *
 * recall: open (hashing embedder), one untimed pass over the queries, REPEAT timed passes of
 * memorable_recall (limit 10) for user "bench", one call at a time, each result list freed.
 * ingest: one timed memorable_remember_batch of every line. Prints one JSON object (us / s),
 * with the process's CPU time per call (cpu_us, CLOCK_PROCESS_CPUTIME_ID). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "memorable.h"

static void die(memorable_error *e, const char *what) {
    if (e == NULL) return;
    fprintf(stderr, "%s failed: [%u] %s\n", what, memorable_error_code(e), memorable_error_message(e));
    memorable_error_free(e);
    exit(1);
}

static double clock_us(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static double now_us(void) { return clock_us(CLOCK_MONOTONIC); }
static double cpu_us(void) { return clock_us(CLOCK_PROCESS_CPUTIME_ID); }

/* Every non-empty line of `path` (the buffer owns them; lines point into it). */
static char **read_lines(const char *path, size_t *count, char **buffer) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) { perror(path); exit(1); }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)size + 1);
    if (fread(buf, 1, (size_t)size, f) != (size_t)size) { perror(path); exit(1); }
    fclose(f);
    buf[size] = '\0';
    size_t cap = 1024, n = 0;
    char **lines = malloc(cap * sizeof *lines);
    for (char *line = strtok(buf, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        if (n == cap) lines = realloc(lines, (cap *= 2) * sizeof *lines);
        lines[n++] = line;
    }
    *count = n;
    *buffer = buf;
    return lines;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static memorable *open_store(const char *path) {
    memorable_options opts = {0};
    opts.embedder = "hashing";
    memorable *m = NULL;
    die(memorable_open(path, &opts, &m), "memorable_open");
    return m;
}

static void recall(const char *store, const char *file, int repeat) {
    size_t n = 0;
    char *buf = NULL;
    char **queries = read_lines(file, &n, &buf);
    memorable *m = open_store(store);
    memorable_recall_options ro = memorable_recall_options_default();
    ro.limit = 10;
    memorable_results *r = NULL;
    for (size_t i = 0; i < n; i++) {
        die(memorable_recall(m, "bench", 5, queries[i], strlen(queries[i]), &ro, &r), "recall");
        memorable_results_free(r);
    }
    size_t calls = n * (size_t)repeat;
    double *times = malloc(calls * sizeof *times), total = 0, cpu = cpu_us();
    for (int k = 0; k < repeat; k++) {
        for (size_t i = 0; i < n; i++) {
            double t = now_us();
            die(memorable_recall(m, "bench", 5, queries[i], strlen(queries[i]), &ro, &r), "recall");
            size_t len = memorable_results_len(r);
            memorable_results_free(r);
            times[k * n + i] = now_us() - t;
            total += times[k * n + i];
            if (len != 10) { fprintf(stderr, "expected 10 hits, got %zu\n", len); exit(1); }
        }
    }
    cpu = (cpu_us() - cpu) / (double)calls;
    die(memorable_close(m), "memorable_close");
    memorable_free(m);
    qsort(times, calls, sizeof *times, cmp_double);
    printf("{\"lang\": \"c\", \"op\": \"recall\", \"n\": %zu, \"p50_us\": %.2f, \"p95_us\": %.2f, "
           "\"mean_us\": %.2f, \"cpu_us\": %.2f}\n",
           calls, times[(size_t)((double)(calls - 1) * 0.5 + 0.5)],
           times[(size_t)((double)(calls - 1) * 0.95 + 0.5)], total / (double)calls, cpu);
    free(times);
    free(queries);
    free(buf);
}

static void ingest(const char *store, const char *file) {
    size_t n = 0;
    char *buf = NULL;
    char **texts = read_lines(file, &n, &buf);
    const char **users = malloc(n * sizeof *users);
    size_t *user_lens = malloc(n * sizeof *user_lens), *text_lens = malloc(n * sizeof *text_lens);
    uint64_t *ids = malloc(n * sizeof *ids);
    for (size_t i = 0; i < n; i++) {
        users[i] = "bench";
        user_lens[i] = 5;
        text_lens[i] = strlen(texts[i]);
    }
    memorable *m = open_store(store);
    double t = now_us(), cpu = cpu_us();
    die(memorable_remember_batch(m, n, users, user_lens, (const char *const *)texts, text_lens, NULL, ids),
        "memorable_remember_batch");
    double secs = (now_us() - t) / 1e6, cpu_s = (cpu_us() - cpu) / 1e6;
    die(memorable_close(m), "memorable_close");
    memorable_free(m);
    printf("{\"lang\": \"c\", \"op\": \"remember_batch\", \"n\": %zu, \"total_s\": %.6f, \"cpu_s\": %.6f}\n",
           n, secs, cpu_s);
    free(ids);
    free(text_lens);
    free(user_lens);
    free(users);
    free(texts);
    free(buf);
}

int main(int argc, char **argv) {
    if (argc >= 4 && strcmp(argv[1], "recall") == 0) {
        recall(argv[2], argv[3], argc >= 5 ? atoi(argv[4]) : 1);
    } else if (argc == 4 && strcmp(argv[1], "ingest") == 0) {
        ingest(argv[2], argv[3]);
    } else {
        fprintf(stderr, "usage: %s recall STORE QUERIES [REPEAT] | ingest STORE TEXTS\n", argv[0]);
        return 2;
    }
    return 0;
}
