/* One handle shared by writer and reader threads (pthreads): every write lands, reads never
 * fail or see another user's memories. */
#include "test.h"

#include <pthread.h>

#define WRITERS 4
#define READERS 3

#define PER_WRITER 40
#define READS 40

typedef struct {
    memorable *m;
    int index;
    bool ok;
} worker;

static bool write_all(worker *w) {
    char user[32], text[96];
    snprintf(user, sizeof user, "user-%d", w->index);
    for (int i = 0; i < PER_WRITER; i++) {
        snprintf(text, sizeof text, "note %d of writer %d about topic %d", i, w->index, i % 7);
        uint64_t id = 0;
        if (i % 10 == 9) {
            /* Some batches too: two items in one transaction. */
            const char *users[] = {user, user};
            size_t user_lens[] = {strlen(user), strlen(user)};
            const char *texts[] = {text, "batch companion note"};
            size_t text_lens[] = {strlen(text), strlen("batch companion note")};
            uint64_t ids[2] = {0, 0};
            CHECK_OK(memorable_remember_batch(w->m, 2, users, user_lens, texts, text_lens, NULL, ids));
            CHECK(ids[0] > 0 && ids[1] == ids[0] + 1);
        } else {
            CHECK_OK(memorable_remember(w->m, S(user), S(text), NULL, &id));
            CHECK(id > 0);
        }
    }
    return true;
}

static bool read_all(worker *w) {
    char user[32];
    for (int i = 0; i < READS; i++) {
        snprintf(user, sizeof user, "user-%d", i % WRITERS);
        memorable_results *r = NULL;
        memorable_recall_options o = memorable_recall_options_default();
        o.limit = 5;
        CHECK_OK(memorable_recall(w->m, S(user), S("note about topic 3"), &o, &r));
        CHECK(memorable_results_len(r) <= 5);
        for (size_t j = 0; j < memorable_results_len(r); j++) {
            CHECK(strcmp(memorable_results_user(r, j), user) == 0);
            CHECK(memorable_results_text(r, j) != NULL);
        }
        memorable_results_free(r);
        if (i % 8 == 0) {
            char *json = NULL;
            CHECK_OK(memorable_stats(w->m, &json));
            memorable_string_free(json);
        }
    }
    return true;
}

static void *writer_main(void *arg) {
    worker *w = arg;
    w->ok = write_all(w);
    return NULL;
}

static void *reader_main(void *arg) {
    worker *w = arg;
    w->ok = read_all(w);
    return NULL;
}

static bool threads_in(const char *dir) {
    memorable *m = NULL;
    CHECK_OK(memorable_open(dir, hashing(), &m));
    pthread_t threads[WRITERS + READERS];
    worker workers[WRITERS + READERS];
    for (int i = 0; i < WRITERS + READERS; i++) {
        workers[i] = (worker){.m = m, .index = i, .ok = false};
        void *(*main_fn)(void *) = i < WRITERS ? writer_main : reader_main;
        CHECK(pthread_create(&threads[i], NULL, main_fn, &workers[i]) == 0);
    }
    bool ok = true;
    for (int i = 0; i < WRITERS + READERS; i++) {
        CHECK(pthread_join(threads[i], NULL) == 0);
        if (!workers[i].ok) {
            fprintf(stderr, "  worker %d failed\n", i);
            ok = false;
        }
    }
    CHECK(ok);

    int expected = PER_WRITER + PER_WRITER / 10; /* every 10th write is a batch of two */
    for (int i = 0; i < WRITERS; i++) {
        char user[32];
        snprintf(user, sizeof user, "user-%d", i);
        memorable_recall_options o = memorable_recall_options_default();
        o.limit = 1000;
        memorable_results *r = NULL;
        CHECK_OK(memorable_recent(m, S(user), &o, &r));
        CHECK(memorable_results_len(r) == (size_t)expected);
        memorable_results_free(r);
    }
    CHECK_OK(memorable_close(m));
    memorable_free(m);

    /* Everything survived the close. */
    m = NULL;
    CHECK_OK(memorable_open(dir, hashing(), &m));
    char *json = NULL;
    CHECK_OK(memorable_stats(m, &json));
    char needle[64];
    snprintf(needle, sizeof needle, "\"memories\":%d", expected * WRITERS);
    CHECK(contains(json, needle));
    memorable_string_free(json);
    memorable_free(m);
    return true;
}

static bool test_shared_handle(void) {
    char dir[256];
    CHECK(make_temp_dir(dir, sizeof dir));
    bool ok = threads_in(dir);
    remove_dir(dir);
    return ok;
}

int main(void) {
    bool passed = true;
    run_test(test_shared_handle, "test_shared_handle", &passed);
    if (!passed) {
        fprintf(stderr, "test_threads: FAILED\n");
        return 1;
    }
    fprintf(stderr, "test_threads: all passed\n");
    return 0;
}
