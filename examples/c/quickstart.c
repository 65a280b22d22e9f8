/* MemoRable from C: remember two things, recall one by meaning.
 *
 *   make -C memorable-c examples && memorable-c/build/quickstart_c /tmp/my-store
 *   cc quickstart.c $(pkg-config --cflags --libs memorable)       (after make install)
 */
#include <stdio.h>
#include <string.h>

#include <memorable.h>

/* Print an error and release it; returns the exit status. */
static int report(memorable_error *err) {
    fprintf(stderr, "memorable error %u: %s\n", memorable_error_code(err),
            memorable_error_message(err));
    memorable_error_free(err);
    return 1;
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "memorable-data";
    printf("libmemorable %s (header %s)\n", memorable_version(), MEMORABLE_VERSION);

    /* NULL options: embedder "auto", the best model in the cache (MiniLM after
     * scripts/fetch-model.sh), else the built-in hashing embedder. */
    memorable *m = NULL;
    memorable_error *err = memorable_open(path, NULL, &m);
    if (err) return report(err);

    const char *user = "alice";
    const char *puppy = "I adopted a puppy named Biscuit";
    const char *report_due = "The quarterly report is due on Friday";
    memorable_memory_options opts = memorable_memory_options_default();
    opts.speaker = "alice";
    uint64_t id = 0;
    err = memorable_remember(m, user, strlen(user), puppy, strlen(puppy), &opts, &id);
    if (!err) err = memorable_remember(m, user, strlen(user), report_due, strlen(report_due), NULL, &id);
    if (err) goto fail;

    const char *query = "what is my puppy called?";
    memorable_recall_options ropts = memorable_recall_options_default();
    ropts.limit = 1;
    memorable_results *hits = NULL;
    err = memorable_recall(m, user, strlen(user), query, strlen(query), &ropts, &hits);
    if (err) goto fail;
    for (size_t i = 0; i < memorable_results_len(hits); i++) {
        const char *speaker = memorable_results_speaker(hits, i);
        printf("#%llu %.4f %s (said by %s)\n", (unsigned long long)memorable_results_id(hits, i),
               memorable_results_score(hits, i), memorable_results_text(hits, i),
               speaker ? speaker : "unknown");
    }
    memorable_results_free(hits);

    err = memorable_close(m); /* persist and release the directory */
    if (err) goto fail;
    memorable_free(m);
    return 0;

fail:
    memorable_free(m);
    return report(err);
}
