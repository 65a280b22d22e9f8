/* Single-threaded tests of the C API: round trip through a reopen, recall filters and modes,
 * update and history, forget, user isolation, batches, selection report, reembed without a
 * model, custom classifiers without training, and every error path. Stores use the hashing embedder (see hashing() in test.h). */
#include "test.h"

#include <sys/stat.h>

#define DAY_MS 86400000LL
/* 2024-01-01T00:00:00Z */
#define JAN_2024_MS 1704067200000LL

static bool test_version(void) {
    CHECK(strcmp(memorable_version(), MEMORABLE_VERSION) == 0);
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", MEMORABLE_VERSION_MAJOR,
             MEMORABLE_VERSION_MINOR, MEMORABLE_VERSION_PATCH);
    CHECK(strcmp(MEMORABLE_VERSION, expected) == 0);
    return true;
}

static bool round_trip_in(const char *dir) {
    memorable *m = NULL;
    CHECK_OK(memorable_open(dir, hashing(), &m));
    CHECK(m != NULL);

    const char *tags[] = {"pets", "family"};
    memorable_memory_options opts = memorable_memory_options_default();
    opts.session = "s1";
    opts.speaker = "alice";
    opts.has_occurred_at = true;
    opts.occurred_at_ms = JAN_2024_MS;
    opts.importance = 0.9;
    opts.tags = tags;
    opts.tags_len = 2;
    opts.metadata_json = "{\"source\": \"chat\"}";
    uint64_t id = 0;
    CHECK_OK(memorable_remember(m, S("alice"), S("I adopted a puppy named Biscuit"), &opts, &id));
    CHECK(id > 0);
    uint64_t other = 0;
    CHECK_OK(memorable_remember(m, S("alice"), S("The quarterly report is due on Friday"), NULL,
                                &other));
    CHECK(other > id);
    memorable_free(m);

    m = NULL;
    CHECK_OK(memorable_open(dir, hashing(), &m));
    memorable_results *r = NULL;
    CHECK_OK(memorable_get(m, id, &r));
    CHECK(memorable_results_len(r) == 1);
    CHECK(memorable_results_id(r, 0) == id);
    CHECK(strcmp(memorable_results_text(r, 0), "I adopted a puppy named Biscuit") == 0);
    CHECK(memorable_results_text_len(r, 0) == strlen("I adopted a puppy named Biscuit"));
    CHECK(strcmp(memorable_results_user(r, 0), "alice") == 0);
    CHECK(strcmp(memorable_results_speaker(r, 0), "alice") == 0);
    CHECK(strcmp(memorable_results_session(r, 0), "s1") == 0);
    CHECK(memorable_results_occurred_at_ms(r, 0) == JAN_2024_MS);
    CHECK(memorable_results_created_at_ms(r, 0) > JAN_2024_MS);
    CHECK(isnan(memorable_results_score(r, 0)));
    /* Out of range: zero values, never UB. */
    CHECK(memorable_results_id(r, 1) == 0);
    CHECK(memorable_results_text(r, 1) == NULL);
    CHECK(memorable_results_speaker(r, 7) == NULL);
    CHECK(isnan(memorable_results_score(r, 1)));
    memorable_results_free(r);

    r = NULL;
    CHECK_OK(memorable_recall(m, S("alice"), S("what is my puppy called?"), NULL, &r));
    CHECK(memorable_results_len(r) == 2);
    CHECK(memorable_results_id(r, 0) == id);
    CHECK(memorable_results_score(r, 0) > 0.0);
    CHECK(memorable_results_score(r, 0) >= memorable_results_score(r, 1));
    CHECK(memorable_results_speaker(r, 1) == NULL);
    CHECK(memorable_results_session(r, 1) == NULL);
    memorable_results_free(r);

    char *json = NULL;
    CHECK_OK(memorable_stats(m, &json));
    CHECK(contains(json, "\"memories\":2"));
    CHECK(contains(json, "\"users\":1"));
    /* The recall loaded the user's index: hashing vectors, searched exactly. */
    CHECK(contains(json, "\"sparse\":true"));
    memorable_string_free(json);

    CHECK_OK(memorable_checkpoint(m));
    CHECK_OK(memorable_close(m));
    memorable_free(m);
    return true;
}

static bool test_round_trip(void) {
    char dir[256];
    CHECK(make_temp_dir(dir, sizeof dir));
    bool ok = round_trip_in(dir);
    remove_dir(dir);
    return ok;
}

/* The same round trip on a PostgreSQL store: memorable_open takes a postgres:// URL where it
 * takes a directory. The database is this test's own on the cluster scripts/test.sh starts
 * (MEMORABLE_TEST_PG_URL); without it the test fails unless MEMORABLE_SKIP_PG=1 skips it. */
static bool test_round_trip_postgres(void) {
    const char *admin = getenv("MEMORABLE_TEST_PG_URL");
    if (admin == NULL || admin[0] == '\0') {
        const char *skip = getenv("MEMORABLE_SKIP_PG");
        if (skip != NULL && strcmp(skip, "1") == 0) {
            fprintf(stderr, "  MEMORABLE_SKIP_PG=1: skipped\n");
            return true;
        }
        fprintf(stderr, "  MEMORABLE_TEST_PG_URL is not set (scripts/pg-cluster.sh start)\n");
        return false;
    }
    const char *slash = strrchr(admin, '/');
    CHECK(slash != NULL);
    char name[64], url[512], cmd[1024];
    snprintf(name, sizeof name, "c_%ld", (long)getpid());
    /* Without TLS: this suite also runs under valgrind, which misreads ring's assembly
     * (false "uninitialised byte" reports); TLS is tested by the Rust suite. */
    snprintf(url, sizeof url, "%.*s/%s?sslmode=disable", (int)(slash - admin), admin, name);
    snprintf(cmd, sizeof cmd, "psql '%s' -qc 'CREATE DATABASE %s'", admin, name);
    CHECK(system(cmd) == 0);
    bool ok = round_trip_in(url);
    /* The database is a store that verify finds sound. */
    bool sound = false;
    CHECK_OK(memorable_verify(url, &sound, NULL));
    CHECK(sound);
    snprintf(cmd, sizeof cmd, "psql '%s' -qc 'DROP DATABASE %s WITH (FORCE)'", admin, name);
    CHECK(system(cmd) == 0);
    return ok;
}

/* memorable_memory_options.client_key: a retry with the same key answers the same id and
 * stores nothing; an empty key is INVALID_INPUT. */
static bool test_client_key(void) {
    memorable *m = NULL;
    CHECK_OK(memorable_open_in_memory(hashing(), &m));
    memorable_memory_options opts = memorable_memory_options_default();
    opts.client_key = "req-1";
    uint64_t first = 0, again = 0;
    CHECK_OK(memorable_remember(m, S("alice"), S("paid the plumber"), &opts, &first));
    CHECK_OK(memorable_remember(m, S("alice"), S("paid the plumber"), &opts, &again));
    CHECK(first == again);
    opts.client_key = "";
    CHECK_ERR(memorable_remember(m, S("alice"), S("x"), &opts, &again), MEMORABLE_ERROR_INVALID_INPUT);
    char *json = NULL;
    CHECK_OK(memorable_stats(m, &json));
    CHECK(contains(json, "\"memories\":1"));
    memorable_string_free(json);
    memorable_free(m);
    return true;
}

/* config_json's max_index_memory_mb: loading an index evicts the least recently used ones
 * past the budget; the index in use stays. */
static bool test_index_memory_budget(void) {
    memorable *m = NULL;
    memorable_options o = {0};
    o.embedder = "hashing";
    o.config_json = "{\"max_index_memory_mb\": 1}";
    CHECK_OK(memorable_open_in_memory(&o, &m));
    enum { N = 500 };
    static const char *users[N], *texts[N];
    static size_t user_lens[N], text_lens[N];
    static char buf[N][32];
    static uint64_t ids[N];
    const char *names[2] = {"alice", "bob"};
    for (int u = 0; u < 2; u++) {
        for (int i = 0; i < N; i++) {
            snprintf(buf[i], sizeof buf[i], "%s note %d", names[u], i);
            users[i] = names[u];
            user_lens[i] = strlen(names[u]);
            texts[i] = buf[i];
            text_lens[i] = strlen(buf[i]);
        }
        CHECK_OK(memorable_remember_batch(m, N, users, user_lens, texts, text_lens, NULL, ids));
    }
    memorable_results *r = NULL;
    CHECK_OK(memorable_recall(m, S("alice"), S("note 7"), NULL, &r));
    CHECK(memorable_results_len(r) > 0);
    memorable_results_free(r);
    CHECK_OK(memorable_recall(m, S("bob"), S("note 7"), NULL, &r));
    CHECK(memorable_results_len(r) > 0);
    memorable_results_free(r);
    /* 500 vectors of 384 floats with their graph are over 1 MiB: only bob's index stays. */
    char *json = NULL;
    CHECK_OK(memorable_stats(m, &json));
    CHECK(contains(json, "\"loaded_indexes\":[{\"user\":\"bob\""));
    CHECK(!contains(json, "\"user\":\"alice\""));
    CHECK(contains(json, "\"approx_bytes\":"));
    memorable_string_free(json);
    memorable_free(m);

    m = NULL;
    o.config_json = "{\"max_index_memory_mb\": 0}";
    CHECK_ERR(memorable_open_in_memory(&o, &m), MEMORABLE_ERROR_INVALID_CONFIG);
    CHECK(m == NULL);
    return true;
}

static bool test_in_memory_and_options(void) {
    memorable *m = NULL;
    memorable_options o = {0};
    o.max_text_chars = 10;
    o.embedder = "hashing"; /* the convenience field; NULL = "auto" or config_json's */
    CHECK_OK(memorable_open_in_memory(&o, &m));
    uint64_t id = 0;
    CHECK_OK(memorable_remember(m, S("u"), S("short"), NULL, &id));
    CHECK_ERR(memorable_remember(m, S("u"), S("far longer than ten characters"), NULL, &id),
              MEMORABLE_ERROR_TEXT_TOO_LONG);
    memorable_free(m);

    /* config_json is the core Config; max_text_chars overrides it when non-zero. */
    m = NULL;
    o.max_text_chars = 0;
    o.config_json = "{\"max_text_chars\": 12, \"hnsw\": {\"ef_search\": 32, \"sparse_search\": false}}";
    CHECK_OK(memorable_open_in_memory(&o, &m));
    CHECK_ERR(memorable_remember(m, S("u"), S("thirteen char"), NULL, &id),
              MEMORABLE_ERROR_TEXT_TOO_LONG);
    CHECK_OK(memorable_remember(m, S("u"), S("twelve chars"), NULL, &id));
    char *json = NULL;
    CHECK_OK(memorable_selection_report(m, &json));
    CHECK(contains(json, "\"chosen\":\"hashing\""));
    memorable_string_free(json);
    memorable_free(m);

    /* `embedder` overrides the embedder of config_json. */
    m = NULL;
    o.config_json = "{\"embedder\": \"no-such-model\"}";
    CHECK_OK(memorable_open_in_memory(&o, &m));
    memorable_free(m);
    m = NULL;
    o.config_json = NULL;
    o.embedder = "no-such-model";
    CHECK_ERR(memorable_open_in_memory(&o, &m), MEMORABLE_ERROR_INVALID_CONFIG);
    o.embedder = "";
    CHECK_ERR(memorable_open_in_memory(&o, &m), MEMORABLE_ERROR_INVALID_CONFIG);
    o.embedder = "caf\xc3";
    CHECK_ERR(memorable_open_in_memory(&o, &m), MEMORABLE_ERROR_INVALID_UTF8);
    CHECK(m == NULL);
    o.embedder = "hashing";

    m = NULL;
    o.config_json = "{\"no_such_key\": 1}";
    CHECK_ERR(memorable_open_in_memory(&o, &m), MEMORABLE_ERROR_INVALID_CONFIG);
    o.config_json = "not json";
    CHECK_ERR(memorable_open_in_memory(&o, &m), MEMORABLE_ERROR_INVALID_CONFIG);
    o.config_json = "{\"hnsw\": {\"m\": 1}}";
    CHECK_ERR(memorable_open_in_memory(&o, &m), MEMORABLE_ERROR_INVALID_CONFIG);
    CHECK(m == NULL);
    return true;
}

/* Remember `text` for `user` with session / speaker / day offset from JAN_2024_MS. */
static bool remember_at(memorable *m, const char *user, const char *text, const char *session,
                        const char *speaker, int day, const char *tag, uint64_t *id) {
    memorable_memory_options o = memorable_memory_options_default();
    o.session = session;
    o.speaker = speaker;
    o.has_occurred_at = true;
    o.occurred_at_ms = JAN_2024_MS + day * DAY_MS;
    const char *tags[1] = {tag};
    o.tags = tag ? tags : NULL;
    o.tags_len = tag ? 1 : 0;
    CHECK_OK(memorable_remember(m, S(user), S(text), &o, id));
    return true;
}

static bool test_recall_filters(void) {
    memorable *m = NULL;
    CHECK_OK(memorable_open_in_memory(hashing(), &m));
    uint64_t a = 0, b = 0, c = 0;
    CHECK(remember_at(m, "alice", "we talked about hiking in the alps", "trip", "alice", 0,
                      "travel", &a));
    CHECK(remember_at(m, "alice", "bob suggested hiking in norway", "trip", "bob", 10, NULL, &b));
    CHECK(remember_at(m, "alice", "hiking boots need new laces", "chores", "alice", 20, "shopping",
                      &c));

    memorable_results *r = NULL;
    memorable_recall_options o = memorable_recall_options_default();
    CHECK_OK(memorable_recall(m, S("alice"), S("hiking"), &o, &r));
    CHECK(memorable_results_len(r) == 3);
    memorable_results_free(r);

    o.session = "trip";
    CHECK_OK(memorable_recall(m, S("alice"), S("hiking"), &o, &r));
    CHECK(memorable_results_len(r) == 2);
    for (size_t i = 0; i < 2; i++) CHECK(strcmp(memorable_results_session(r, i), "trip") == 0);
    memorable_results_free(r);

    o.speaker = "bob";
    CHECK_OK(memorable_recall(m, S("alice"), S("hiking"), &o, &r));
    CHECK(memorable_results_len(r) == 1);
    CHECK(memorable_results_id(r, 0) == b);
    memorable_results_free(r);

    /* [since, until): day 5 (inclusive) to day 20 (exclusive) holds only b. */
    o = memorable_recall_options_default();
    o.has_since = true;
    o.since_ms = JAN_2024_MS + 5 * DAY_MS;
    o.has_until = true;
    o.until_ms = JAN_2024_MS + 20 * DAY_MS;
    CHECK_OK(memorable_recall(m, S("alice"), S("hiking"), &o, &r));
    CHECK(memorable_results_len(r) == 1);
    CHECK(memorable_results_id(r, 0) == b);
    memorable_results_free(r);

    o = memorable_recall_options_default();
    const char *tags[] = {"shopping"};
    o.tags = tags;
    o.tags_len = 1;
    CHECK_OK(memorable_recall(m, S("alice"), S("hiking"), &o, &r));
    CHECK(memorable_results_len(r) == 1);
    CHECK(memorable_results_id(r, 0) == c);
    memorable_results_free(r);

    o = memorable_recall_options_default();
    o.limit = 1;
    CHECK_OK(memorable_recall(m, S("alice"), S("hiking"), &o, &r));
    CHECK(memorable_results_len(r) == 1);
    memorable_results_free(r);

    /* recent: newest occurrence first, scores NAN. */
    o = memorable_recall_options_default();
    CHECK_OK(memorable_recent(m, S("alice"), &o, &r));
    CHECK(memorable_results_len(r) == 3);
    CHECK(memorable_results_id(r, 0) == c);
    CHECK(memorable_results_id(r, 2) == a);
    CHECK(isnan(memorable_results_score(r, 0)));
    memorable_results_free(r);
    CHECK_OK(memorable_recent(m, S("alice"), NULL, &r));
    CHECK(memorable_results_len(r) == 3);
    memorable_results_free(r);

    /* A zeroed options struct means defaults. */
    memorable_recall_options zero;
    memset(&zero, 0, sizeof zero);
    CHECK_OK(memorable_recall(m, S("alice"), S("hiking"), &zero, &r));
    CHECK(memorable_results_len(r) == 3);
    memorable_results_free(r);
    memorable_free(m);
    return true;
}

static bool test_update_and_history(void) {
    memorable *m = NULL;
    CHECK_OK(memorable_open_in_memory(hashing(), &m));
    uint64_t id = 0;
    CHECK_OK(memorable_remember(m, S("alice"), S("my favourite colour is blue"), NULL, &id));
    CHECK_OK(memorable_update(m, id, S("my favourite colour is green")));
    memorable_results *r = NULL;
    CHECK_OK(memorable_get(m, id, &r));
    CHECK(strcmp(memorable_results_text(r, 0), "my favourite colour is green") == 0);
    memorable_results_free(r);

    char *json = NULL;
    CHECK_OK(memorable_history(m, id, &json));
    CHECK(json[0] == '[');
    CHECK(contains(json, "\"version\":1"));
    CHECK(contains(json, "\"version\":2"));
    CHECK(contains(json, "colour is blue"));
    CHECK(contains(json, "colour is green"));
    memorable_string_free(json);
    memorable_free(m);
    return true;
}

static bool test_forget(void) {
    memorable *m = NULL;
    CHECK_OK(memorable_open_in_memory(hashing(), &m));
    uint64_t keep = 0, drop = 0;
    CHECK_OK(memorable_remember(m, S("alice"), S("the wifi password is hunter2"), NULL, &drop));
    CHECK_OK(memorable_remember(m, S("alice"), S("the door code is 1234"), NULL, &keep));
    CHECK_OK(memorable_forget(m, drop));
    memorable_results *r = NULL;
    CHECK_ERR(memorable_get(m, drop, &r), MEMORABLE_ERROR_NOT_FOUND);
    CHECK(r == NULL);
    CHECK_ERR(memorable_forget(m, drop), MEMORABLE_ERROR_NOT_FOUND);
    CHECK_OK(memorable_recall(m, S("alice"), S("wifi password"), NULL, &r));
    for (size_t i = 0; i < memorable_results_len(r); i++) CHECK(memorable_results_id(r, i) != drop);
    memorable_results_free(r);

    uint64_t count = 99;
    CHECK_OK(memorable_forget_user(m, S("alice"), &count));
    CHECK(count == 1);
    CHECK_OK(memorable_recent(m, S("alice"), NULL, &r));
    CHECK(memorable_results_len(r) == 0);
    memorable_results_free(r);
    CHECK_ERR(memorable_get(m, keep, &r), MEMORABLE_ERROR_NOT_FOUND);
    CHECK_OK(memorable_forget_user(m, S("nobody"), &count));
    CHECK(count == 0);
    memorable_free(m);
    return true;
}

static bool test_user_isolation(void) {
    memorable *m = NULL;
    CHECK_OK(memorable_open_in_memory(hashing(), &m));
    uint64_t id = 0;
    CHECK_OK(memorable_remember(m, S("alice"), S("alice's secret: the treasure is buried under the oak"),
                                NULL, &id));
    CHECK_OK(memorable_remember(m, S("bob"), S("bob likes oak furniture"), NULL, &id));
    memorable_results *r = NULL;
    CHECK_OK(memorable_recall(m, S("bob"), S("where is the treasure buried"), NULL, &r));
    CHECK(memorable_results_len(r) == 1);
    CHECK(strcmp(memorable_results_user(r, 0), "bob") == 0);
    memorable_results_free(r);
    CHECK_OK(memorable_recall(m, S("carol"), S("treasure"), NULL, &r));
    CHECK(memorable_results_len(r) == 0);
    memorable_results_free(r);
    uint64_t n = 0;
    CHECK_OK(memorable_forget_user(m, S("bob"), &n));
    CHECK_OK(memorable_recall(m, S("alice"), S("treasure"), NULL, &r));
    CHECK(memorable_results_len(r) == 1);
    memorable_results_free(r);
    memorable_free(m);
    return true;
}

static bool test_batch(void) {
    memorable *m = NULL;
    CHECK_OK(memorable_open_in_memory(hashing(), &m));
    const char *users[] = {"alice", "bob", "alice"};
    size_t user_lens[] = {5, 3, 5};
    const char *texts[] = {"first note", "second note", "third note"};
    size_t text_lens[] = {10, 11, 10};
    memorable_memory_options opts[3];
    for (int i = 0; i < 3; i++) opts[i] = memorable_memory_options_default();
    opts[1].speaker = "bob";
    uint64_t ids[3] = {0, 0, 0};
    CHECK_OK(memorable_remember_batch(m, 3, users, user_lens, texts, text_lens, opts, ids));
    CHECK(ids[0] > 0 && ids[1] > ids[0] && ids[2] > ids[1]);
    memorable_results *r = NULL;
    CHECK_OK(memorable_get(m, ids[1], &r));
    CHECK(strcmp(memorable_results_user(r, 0), "bob") == 0);
    CHECK(strcmp(memorable_results_speaker(r, 0), "bob") == 0);
    memorable_results_free(r);

    /* Without options; and a count of 0 is a no-op. */
    uint64_t more[3] = {0, 0, 0};
    CHECK_OK(memorable_remember_batch(m, 3, users, user_lens, texts, text_lens, NULL, more));
    CHECK(more[0] > ids[2]);
    CHECK_OK(memorable_remember_batch(m, 0, NULL, NULL, NULL, NULL, NULL, NULL));

    /* All or nothing: one bad item stores none and writes no ids. */
    const char *bad_texts[] = {"fine", "   ", "also fine"};
    size_t bad_lens[] = {4, 3, 9};
    uint64_t untouched[3] = {7, 7, 7};
    CHECK_ERR(memorable_remember_batch(m, 3, users, user_lens, bad_texts, bad_lens, NULL, untouched),
              MEMORABLE_ERROR_EMPTY_TEXT);
    CHECK(untouched[0] == 7 && untouched[1] == 7 && untouched[2] == 7);
    CHECK_ERR(memorable_remember_batch(m, 3, users, user_lens, texts, text_lens, NULL, NULL),
              MEMORABLE_ERROR_NULL_POINTER);
    CHECK_ERR(memorable_remember_batch(m, 3, users, NULL, texts, text_lens, NULL, untouched),
              MEMORABLE_ERROR_NULL_POINTER);
    CHECK_OK(memorable_recent(m, S("alice"), NULL, &r));
    CHECK(memorable_results_len(r) == 4);
    memorable_results_free(r);
    memorable_free(m);
    return true;
}

static bool test_text_with_nul(void) {
    memorable *m = NULL;
    CHECK_OK(memorable_open_in_memory(hashing(), &m));
    const char text[] = "before\0after";
    uint64_t id = 0;
    CHECK_OK(memorable_remember(m, S("alice"), text, sizeof text - 1, NULL, &id));
    memorable_results *r = NULL;
    CHECK_OK(memorable_get(m, id, &r));
    CHECK(memorable_results_text_len(r, 0) == sizeof text - 1);
    CHECK(memcmp(memorable_results_text(r, 0), text, sizeof text) == 0);
    memorable_results_free(r);
    memorable_free(m);
    return true;
}

static bool test_null_pointers(void) {
    memorable *m = NULL;
    uint64_t id = 42;
    memorable_results *r = (memorable_results *)0x1; /* must stay untouched */
    char *json = (char *)0x1;

    CHECK_ERR(memorable_remember(NULL, S("u"), S("text"), NULL, &id), MEMORABLE_ERROR_NULL_POINTER);
    CHECK_ERR(memorable_recall(NULL, S("u"), S("q"), NULL, &r), MEMORABLE_ERROR_NULL_POINTER);
    CHECK_ERR(memorable_get(NULL, 1, &r), MEMORABLE_ERROR_NULL_POINTER);
    CHECK_ERR(memorable_close(NULL), MEMORABLE_ERROR_NULL_POINTER);
    CHECK_ERR(memorable_stats(NULL, &json), MEMORABLE_ERROR_NULL_POINTER);
    CHECK_ERR(memorable_checkpoint(NULL), MEMORABLE_ERROR_NULL_POINTER);
    CHECK_ERR(memorable_selection_report(NULL, &json), MEMORABLE_ERROR_NULL_POINTER);
    CHECK_ERR(memorable_reembed(NULL, S("hashing"), NULL, NULL, &json), MEMORABLE_ERROR_NULL_POINTER);
    CHECK_ERR(memorable_open(NULL, NULL, &m), MEMORABLE_ERROR_NULL_POINTER);
    CHECK_ERR(memorable_open_in_memory(NULL, NULL), MEMORABLE_ERROR_NULL_POINTER);
    CHECK(m == NULL);

    CHECK_OK(memorable_open_in_memory(hashing(), &m));
    CHECK_ERR(memorable_remember(m, S("u"), S("text"), NULL, NULL), MEMORABLE_ERROR_NULL_POINTER);
    CHECK_ERR(memorable_remember(m, NULL, 1, S("text"), NULL, &id), MEMORABLE_ERROR_NULL_POINTER);
    CHECK_ERR(memorable_remember(m, S("u"), NULL, 0, NULL, &id), MEMORABLE_ERROR_NULL_POINTER);
    CHECK_ERR(memorable_recall(m, S("u"), S("q"), NULL, NULL), MEMORABLE_ERROR_NULL_POINTER);
    CHECK_ERR(memorable_recent(m, S("u"), NULL, NULL), MEMORABLE_ERROR_NULL_POINTER);
    CHECK_ERR(memorable_get(m, 1, NULL), MEMORABLE_ERROR_NULL_POINTER);
    CHECK_ERR(memorable_history(m, 1, NULL), MEMORABLE_ERROR_NULL_POINTER);
    CHECK_ERR(memorable_stats(m, NULL), MEMORABLE_ERROR_NULL_POINTER);
    CHECK_ERR(memorable_selection_report(m, NULL), MEMORABLE_ERROR_NULL_POINTER);
    CHECK_ERR(memorable_forget_user(m, S("u"), NULL), MEMORABLE_ERROR_NULL_POINTER);
    CHECK_ERR(memorable_update(m, 1, NULL, 3), MEMORABLE_ERROR_NULL_POINTER);
    memorable_memory_options o = memorable_memory_options_default();
    o.tags_len = 2; /* tags NULL with a length */
    CHECK_ERR(memorable_remember(m, S("u"), S("text"), &o, &id), MEMORABLE_ERROR_NULL_POINTER);
    const char *tags[] = {"ok", NULL};
    o.tags = tags;
    CHECK_ERR(memorable_remember(m, S("u"), S("text"), &o, &id), MEMORABLE_ERROR_NULL_POINTER);
    CHECK(id == 42);
    CHECK(r == (memorable_results *)0x1);
    CHECK(json == (char *)0x1);
    memorable_free(m);

    /* Every free accepts NULL, any number of times; accessors accept NULL. */
    memorable_free(NULL);
    memorable_free(NULL);
    memorable_results_free(NULL);
    memorable_error_free(NULL);
    memorable_string_free(NULL);
    CHECK(memorable_results_len(NULL) == 0);
    CHECK(memorable_results_text(NULL, 0) == NULL);
    CHECK(memorable_error_code(NULL) == 0);
    CHECK(memorable_error_message(NULL) == NULL);
    return true;
}

static bool test_invalid_input(void) {
    memorable *m = NULL;
    CHECK_OK(memorable_open_in_memory(hashing(), &m));
    uint64_t id = 42;
    memorable_results *r = NULL;
    const char bad[] = "caf\xc3 \xff\xfe";
    CHECK_ERR(memorable_remember(m, S("u"), bad, sizeof bad - 1, NULL, &id), MEMORABLE_ERROR_INVALID_UTF8);
    CHECK_ERR(memorable_remember(m, bad, sizeof bad - 1, S("text"), NULL, &id),
              MEMORABLE_ERROR_INVALID_UTF8);
    CHECK_ERR(memorable_recall(m, S("u"), bad, sizeof bad - 1, NULL, &r), MEMORABLE_ERROR_INVALID_UTF8);
    CHECK_ERR(memorable_open(bad, NULL, &m), MEMORABLE_ERROR_INVALID_UTF8);
    /* A length cutting a multi-byte character is invalid too. */
    CHECK_ERR(memorable_remember(m, S("u"), "caf\xc3\xa9", 4, NULL, &id), MEMORABLE_ERROR_INVALID_UTF8);
    memorable_memory_options o = memorable_memory_options_default();
    o.speaker = bad;
    CHECK_ERR(memorable_remember(m, S("u"), S("text"), &o, &id), MEMORABLE_ERROR_INVALID_UTF8);

    CHECK_ERR(memorable_remember(m, S("u"), S(""), NULL, &id), MEMORABLE_ERROR_EMPTY_TEXT);
    CHECK_ERR(memorable_remember(m, S("u"), S(" \n\t"), NULL, &id), MEMORABLE_ERROR_EMPTY_TEXT);
    CHECK_ERR(memorable_remember(m, S(""), S("text"), NULL, &id), MEMORABLE_ERROR_MISSING_USER);
    CHECK_ERR(memorable_recall(m, S("u"), S(""), NULL, &r), MEMORABLE_ERROR_EMPTY_TEXT);
    CHECK(id == 42);

    o = memorable_memory_options_default();
    o.importance = 2.0;
    CHECK_ERR(memorable_remember(m, S("u"), S("text"), &o, &id), MEMORABLE_ERROR_INVALID_INPUT);
    o = memorable_memory_options_default();
    o.metadata_json = "[1, 2]";
    CHECK_ERR(memorable_remember(m, S("u"), S("text"), &o, &id), MEMORABLE_ERROR_INVALID_METADATA);
    o.metadata_json = "{not json";
    CHECK_ERR(memorable_remember(m, S("u"), S("text"), &o, &id), MEMORABLE_ERROR_INVALID_METADATA);

    memorable_recall_options ro = memorable_recall_options_default();
    ro.limit = 5000;
    CHECK_ERR(memorable_recall(m, S("u"), S("q"), &ro, &r), MEMORABLE_ERROR_INVALID_INPUT);
    ro = memorable_recall_options_default();
    ro.has_since = true;
    ro.since_ms = 2000;
    ro.has_until = true;
    ro.until_ms = 1000;
    CHECK_ERR(memorable_recall(m, S("u"), S("q"), &ro, &r), MEMORABLE_ERROR_INVALID_INPUT);
    CHECK(r == NULL);

    CHECK_ERR(memorable_get(m, 123456, &r), MEMORABLE_ERROR_NOT_FOUND);
    CHECK_ERR(memorable_update(m, 123456, S("new")), MEMORABLE_ERROR_NOT_FOUND);
    CHECK_ERR(memorable_forget(m, 123456), MEMORABLE_ERROR_NOT_FOUND);
    char *json = NULL;
    CHECK_ERR(memorable_history(m, 123456, &json), MEMORABLE_ERROR_NOT_FOUND);
    CHECK(json == NULL);
    memorable_free(m);
    return true;
}

static bool locked_in(const char *dir) {
    memorable *first = NULL, *second = NULL;
    CHECK_OK(memorable_open(dir, hashing(), &first));
    CHECK_ERR(memorable_open(dir, hashing(), &second), MEMORABLE_ERROR_LOCKED);
    CHECK(second == NULL);
    /* close releases the lock even before memorable_free. */
    CHECK_OK(memorable_close(first));
    CHECK_OK(memorable_open(dir, hashing(), &second));
    memorable_free(second);
    memorable_free(first);
    return true;
}

static bool test_locked(void) {
    char dir[256];
    CHECK(make_temp_dir(dir, sizeof dir));
    bool ok = locked_in(dir);
    remove_dir(dir);
    return ok;
}

/* Write `len` bytes of `data` at `offset` of `path`, opened with fopen `mode`. */
static bool write_file(const char *path, const char *mode, long offset, const void *data, size_t len) {
    FILE *f = fopen(path, mode);
    if (f == NULL) return false;
    bool ok = fseek(f, offset, SEEK_SET) == 0 && fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok;
}

static bool store_problems_in(const char *dir) {
    char path[512];
    memorable *m = NULL;

    /* A directory that cannot be created: a file is in the way. */
    snprintf(path, sizeof path, "%s/plain-file", dir);
    CHECK(write_file(path, "wb", 0, "x", 1));
    snprintf(path, sizeof path, "%s/plain-file/store", dir);
    CHECK_ERR(memorable_open(path, hashing(), &m), MEMORABLE_ERROR_NOT_WRITABLE);

    /* A database file that is not one. */
    snprintf(path, sizeof path, "%s/bogus", dir);
    CHECK(mkdir(path, 0700) == 0);
    snprintf(path, sizeof path, "%s/bogus/memorable.db", dir);
    char junk[4096];
    memset(junk, 7, sizeof junk);
    CHECK(write_file(path, "wb", 0, junk, sizeof junk));
    snprintf(path, sizeof path, "%s/bogus", dir);
    CHECK_ERR(memorable_open(path, hashing(), &m), MEMORABLE_ERROR_CORRUPT);

    /* A store from a newer MemoRable: SQLite keeps the schema version (user_version) at
     * byte 60 of the database header, big-endian. Refused, and left as it is. */
    snprintf(path, sizeof path, "%s/newer", dir);
    CHECK_OK(memorable_open(path, hashing(), &m));
    uint64_t id = 0;
    CHECK_OK(memorable_remember(m, S("alice"), S("written by this version"), NULL, &id));
    memorable_free(m); /* closes: the WAL is folded into the database file */
    m = NULL;
    snprintf(path, sizeof path, "%s/newer/memorable.db", dir);
    const unsigned char v99[4] = {0, 0, 0, 99};
    CHECK(write_file(path, "r+b", 60, v99, sizeof v99));
    snprintf(path, sizeof path, "%s/newer", dir);
    CHECK_ERR(memorable_open(path, hashing(), &m), MEMORABLE_ERROR_NEWER_VERSION);
    CHECK(m == NULL);
    snprintf(path, sizeof path, "%s/newer/memorable.db", dir);
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    unsigned char header[64];
    size_t got = fread(header, 1, sizeof header, f);
    fclose(f);
    CHECK(got == sizeof header && memcmp(header + 60, v99, 4) == 0);

    /* An explicit model that is not in the model cache: MODEL, never a silent fallback. */
    snprintf(path, sizeof path, "{\"model_dir\": \"%s/bogus\"}", dir);
    memorable_options minilm = {.config_json = path, .embedder = "minilm"};
    CHECK_ERR(memorable_open_in_memory(&minilm, &m), MEMORABLE_ERROR_MODEL);
    CHECK(m == NULL);
    return true;
}

static bool test_store_problems(void) {
    char dir[256];
    CHECK(make_temp_dir(dir, sizeof dir));
    bool ok = store_problems_in(dir);
    remove_dir(dir);
    return ok;
}

static bool test_closed(void) {
    memorable *m = NULL;
    CHECK_OK(memorable_open_in_memory(hashing(), &m));
    uint64_t id = 0;
    CHECK_OK(memorable_remember(m, S("u"), S("text"), NULL, &id));
    CHECK_OK(memorable_close(m));
    CHECK_OK(memorable_close(m)); /* closing twice is fine */
    memorable_results *r = NULL;
    uint64_t n = 0;
    char *json = NULL;
    CHECK_ERR(memorable_remember(m, S("u"), S("text"), NULL, &id), MEMORABLE_ERROR_CLOSED);
    CHECK_ERR(memorable_recall(m, S("u"), S("text"), NULL, &r), MEMORABLE_ERROR_CLOSED);
    CHECK_ERR(memorable_recent(m, S("u"), NULL, &r), MEMORABLE_ERROR_CLOSED);
    CHECK_ERR(memorable_get(m, id, &r), MEMORABLE_ERROR_CLOSED);
    CHECK_ERR(memorable_update(m, id, S("x")), MEMORABLE_ERROR_CLOSED);
    CHECK_ERR(memorable_history(m, id, &json), MEMORABLE_ERROR_CLOSED);
    CHECK_ERR(memorable_forget(m, id), MEMORABLE_ERROR_CLOSED);
    CHECK_ERR(memorable_forget_user(m, S("u"), &n), MEMORABLE_ERROR_CLOSED);
    CHECK_ERR(memorable_stats(m, &json), MEMORABLE_ERROR_CLOSED);
    CHECK_ERR(memorable_checkpoint(m), MEMORABLE_ERROR_CLOSED);
    CHECK_ERR(memorable_selection_report(m, &json), MEMORABLE_ERROR_CLOSED);
    CHECK_ERR(memorable_reembed(m, S("hashing"), NULL, NULL, &json), MEMORABLE_ERROR_CLOSED);
    CHECK(r == NULL && json == NULL);
    memorable_free(m);
    return true;
}

static bool test_selection_report(void) {
    memorable *m = NULL;
    CHECK_OK(memorable_open_in_memory(hashing(), &m));
    char *json = NULL;
    CHECK_OK(memorable_selection_report(m, &json));
    CHECK(json != NULL && json[0] == '{');
    CHECK(contains(json, "\"chosen\""));
    CHECK(contains(json, "\"chosen\":\"hashing\""));
    CHECK(contains(json, "\"requested\":\"hashing\""));
    CHECK(contains(json, "\"decisions\":["));
    memorable_string_free(json);

    /* stats carries the same report, and no migration in progress. */
    json = NULL;
    CHECK_OK(memorable_stats(m, &json));
    CHECK(contains(json, "\"selection\":{"));
    CHECK(contains(json, "\"reembed\":null"));
    memorable_string_free(json);
    memorable_free(m);
    return true;
}

static bool test_recall_modes(void) {
    memorable *m = NULL;
    CHECK_OK(memorable_open_in_memory(hashing(), &m));
    uint64_t cat = 0, tax = 0;
    CHECK_OK(memorable_remember(m, S("alice"), S("my cat sleeps on the windowsill"), NULL, &cat));
    CHECK_OK(memorable_remember(m, S("alice"), S("the tax return is due in April"), NULL, &tax));

    memorable_results *r = NULL;
    memorable_recall_options o = memorable_recall_options_default();
    CHECK(o.mode == MEMORABLE_RECALL_HYBRID);
    o.mode = MEMORABLE_RECALL_KEYWORD;
    CHECK_OK(memorable_recall(m, S("alice"), S("windowsill"), &o, &r));
    CHECK(memorable_results_len(r) == 1);
    CHECK(memorable_results_id(r, 0) == cat);
    CHECK(memorable_results_score(r, 0) > 0.0);
    memorable_results_free(r);
    /* Keyword mode finds nothing without a shared word; the vector search always answers. */
    CHECK_OK(memorable_recall(m, S("alice"), S("zebra"), &o, &r));
    CHECK(memorable_results_len(r) == 0);
    memorable_results_free(r);
    o.mode = MEMORABLE_RECALL_SEMANTIC;
    CHECK_OK(memorable_recall(m, S("alice"), S("zebra"), &o, &r));
    CHECK(memorable_results_len(r) == 2);
    memorable_results_free(r);
    o.mode = MEMORABLE_RECALL_HYBRID;
    CHECK_OK(memorable_recall(m, S("alice"), S("tax return"), &o, &r));
    CHECK(memorable_results_len(r) == 2);
    CHECK(memorable_results_id(r, 0) == tax);
    memorable_results_free(r);

    /* Keyword mode with filters; recent ignores the mode. */
    o = memorable_recall_options_default();
    o.mode = MEMORABLE_RECALL_KEYWORD;
    o.limit = 1;
    CHECK_OK(memorable_recall(m, S("alice"), S("cat tax"), &o, &r));
    CHECK(memorable_results_len(r) == 1);
    memorable_results_free(r);
    CHECK_OK(memorable_recent(m, S("alice"), &o, &r));
    CHECK(memorable_results_len(r) == 1);
    memorable_results_free(r);

    r = (memorable_results *)0x1;
    o.mode = 3;
    CHECK_ERR(memorable_recall(m, S("alice"), S("cat"), &o, &r), MEMORABLE_ERROR_INVALID_INPUT);
    o.mode = 0xffffffffu;
    CHECK_ERR(memorable_recall(m, S("alice"), S("cat"), &o, &r), MEMORABLE_ERROR_INVALID_INPUT);
    CHECK(r == (memorable_results *)0x1);
    memorable_free(m);
    return true;
}

static bool never_called(uint64_t done, uint64_t total, void *user_data) {
    (void)done;
    (void)total;
    *(int *)user_data += 1;
    return true;
}

/* reembed paths that need no model download (the MiniLM migration is in test_models.c). */
static bool test_reembed_without_model(void) {
    memorable *m = NULL;
    CHECK_OK(memorable_open_in_memory(hashing(), &m));
    uint64_t id = 0;
    CHECK_OK(memorable_remember(m, S("u"), S("already hashed"), NULL, &id));

    /* To the model the store already uses: nothing to do, completed at once. */
    char *json = NULL;
    int calls = 0;
    CHECK_OK(memorable_reembed(m, S("hashing"), never_called, &calls, &json));
    CHECK(contains(json, "\"completed\":true"));
    CHECK(contains(json, "\"reembedded\":0"));
    CHECK(contains(json, "\"previous_model_id\":\"hashing"));
    CHECK(calls == 0);
    memorable_string_free(json);
    json = NULL;
    CHECK_OK(memorable_reembed(m, S("hashing"), NULL, NULL, &json)); /* NULL callback */
    CHECK(contains(json, "\"completed\":true"));
    memorable_string_free(json);

    json = (char *)0x1; /* untouched on failure */
    CHECK_ERR(memorable_reembed(m, S("no-such-model"), NULL, NULL, &json),
              MEMORABLE_ERROR_INVALID_CONFIG);
    CHECK_ERR(memorable_reembed(m, "caf\xc3", 4, NULL, NULL, &json), MEMORABLE_ERROR_INVALID_UTF8);
    CHECK_ERR(memorable_reembed(m, NULL, 0, NULL, NULL, &json), MEMORABLE_ERROR_NULL_POINTER);
    CHECK_ERR(memorable_reembed(m, S("hashing"), NULL, NULL, NULL), MEMORABLE_ERROR_NULL_POINTER);
    CHECK(json == (char *)0x1);

    /* The memory is still there and found. */
    memorable_results *r = NULL;
    CHECK_OK(memorable_recall(m, S("u"), S("hashed"), NULL, &r));
    CHECK(memorable_results_len(r) == 1 && memorable_results_id(r, 0) == id);
    memorable_results_free(r);
    memorable_free(m);
    return true;
}

/* A hashing store has no emotion classifier: memorable_classify fails with the reason, and
 * writes nothing; NULL arguments and NULL results are handled. (With MiniLM: test_classify.c.) */
static bool test_classify_without_classifier(void) {
    memorable *m = NULL;
    CHECK_OK(memorable_open_in_memory(hashing(), &m));
    char *json = NULL;
    CHECK_OK(memorable_stats(m, &json));
    CHECK(contains(json, "\"classifier\":{\"available\":false"));
    CHECK(contains(json, "all-MiniLM-L6-v2"));
    memorable_string_free(json);
    const char *texts[] = {"hello"};
    size_t lens[] = {5};
    memorable_classification *c = NULL;
    CHECK_ERR(memorable_classify(m, 1, texts, lens, &c), MEMORABLE_ERROR_CLASSIFIER_UNAVAILABLE);
    CHECK(c == NULL);
    CHECK_ERR(memorable_classify(NULL, 1, texts, lens, &c), MEMORABLE_ERROR_NULL_POINTER);
    CHECK_ERR(memorable_classify(m, 1, NULL, lens, &c), MEMORABLE_ERROR_NULL_POINTER);
    CHECK_ERR(memorable_classify(m, 1, texts, NULL, &c), MEMORABLE_ERROR_NULL_POINTER);
    CHECK_ERR(memorable_classify(m, 1, texts, lens, NULL), MEMORABLE_ERROR_NULL_POINTER);
    /* An empty batch needs no classifier. */
    CHECK_OK(memorable_classify(m, 0, NULL, NULL, &c));
    CHECK(memorable_classification_len(c) == 0 && memorable_classification_label_count(c) == 0);
    memorable_classification_free(c);
    /* Accessors on NULL, and free(NULL), are harmless. */
    CHECK(memorable_classification_len(NULL) == 0);
    CHECK(isnan(memorable_classification_score(NULL, 0, 0)));
    CHECK(memorable_classification_label(NULL, 0) == NULL);
    CHECK(memorable_classification_present(NULL, 0, 0) == SIZE_MAX);
    memorable_classification_free(NULL);
    CHECK_OK(memorable_close(m));
    c = NULL;
    CHECK_ERR(memorable_classify(m, 1, texts, lens, &c), MEMORABLE_ERROR_CLOSED);
    CHECK(c == NULL);
    memorable_free(m);
    return true;
}

/* Custom classifiers without a model (hashing store; training itself needs MiniLM and runs
 * in test_classifiers.c): label sets, examples, export, corrections, calibration below the
 * minimum, a queued job paused, resumed and cancelled, and the error paths. */
static bool classifiers_in(const char *dir) {
    char store[600], out[600];
    snprintf(store, sizeof store, "%s/store", dir);
    snprintf(out, sizeof out, "%s/examples.jsonl", dir);
    memorable_options opts = {.config_json = "{\"embedder\": \"hashing\", \"classifiers\": {\"run_jobs\": false}}"};
    memorable *m = NULL;
    CHECK_OK(memorable_open(store, &opts, &m));

    const char *labels = "[\"anger\", \"fear\", \"joy\", \"meh\"]";
    char *json = NULL;
    CHECK_OK(memorable_create_classifier(m, S("ekman"), labels, NULL, &json));
    CHECK(contains(json, "\"unmapped\":[\"meh\"]"));
    memorable_string_free(json);
    json = NULL;
    CHECK_OK(memorable_create_classifier(m, S("ekman"), labels, "{\"meh\": \"boredom\"}", &json));
    CHECK(contains(json, "\"unmapped\":[]") && contains(json, "\"deployed\":null"));
    memorable_string_free(json);
    json = NULL;
    CHECK_ERR(memorable_create_classifier(m, S("ekman"), "[\"anger\"]", NULL, &json), MEMORABLE_ERROR_INVALID_INPUT);
    CHECK_ERR(memorable_create_classifier(m, S("Bad Name"), labels, NULL, &json), MEMORABLE_ERROR_INVALID_INPUT);
    CHECK_ERR(memorable_create_classifier(m, S("x"), "not json", NULL, &json), MEMORABLE_ERROR_INVALID_INPUT);
    CHECK_ERR(memorable_create_classifier(m, S("x"), NULL, NULL, &json), MEMORABLE_ERROR_NULL_POINTER);
    CHECK_ERR(memorable_create_classifier(m, "\xff", 1, labels, NULL, &json), MEMORABLE_ERROR_INVALID_UTF8);
    CHECK_ERR(memorable_create_classifier(NULL, S("x"), labels, NULL, &json), MEMORABLE_ERROR_NULL_POINTER);
    CHECK_ERR(memorable_create_classifier(m, S("x"), labels, NULL, NULL), MEMORABLE_ERROR_NULL_POINTER);
    CHECK(json == NULL);
    CHECK_OK(memorable_classifiers(m, &json));
    CHECK(strstr(json, "\"name\":\"goemotions\"") < strstr(json, "\"name\":\"ekman\""));
    memorable_string_free(json);
    json = NULL;
    CHECK_ERR(memorable_classifier(m, S("nope"), &json), MEMORABLE_ERROR_NOT_FOUND);

    /* Examples: a user's and the application's, all or nothing. */
    CHECK_OK(memorable_add_examples(m, S("ekman"), "[{\"text\": \"I am scared\", \"labels\": [\"fear\"]}]",
                                    "{\"user\": \"erin\"}", &json));
    CHECK(contains(json, "\"added\":1") && contains(json, "\"created\":false"));
    memorable_string_free(json);
    json = NULL;
    CHECK_OK(memorable_add_examples(m, S("ekman"),
                                    "[{\"text\": \"so glad\", \"labels\": [\"joy\"]}, "
                                    "{\"text\": \"how dare you\", \"labels\": [\"anger\"]}]",
                                    NULL, &json));
    CHECK(contains(json, "\"added\":2"));
    memorable_string_free(json);
    json = NULL;
    CHECK_ERR(memorable_add_examples(m, S("ekman"), "[{\"text\": \"hm\", \"labels\": [\"nope\"]}]", NULL, &json),
              MEMORABLE_ERROR_INVALID_INPUT);
    CHECK_ERR(memorable_add_examples(m, S("ekman"), "[{\"text\": \"hm\"}]", NULL, &json), MEMORABLE_ERROR_INVALID_INPUT);
    CHECK_ERR(memorable_add_examples(m, S("ekman"), "[]", "{\"bogus\": 1}", &json), MEMORABLE_ERROR_INVALID_INPUT);
    CHECK(json == NULL);
    CHECK_OK(memorable_examples(m, S("ekman"), "erin", &json));
    CHECK(contains(json, "\"user\":\"erin\"") && contains(json, "\"source\":\"api\"") && !contains(json, "so glad"));
    memorable_string_free(json);
    json = NULL;
    CHECK_OK(memorable_example_stats(m, S("ekman"), &json));
    CHECK(contains(json, "\"total\":3") && contains(json, "\"joy\":1"));
    memorable_string_free(json);
    uint64_t count = 0;
    CHECK_OK(memorable_export_examples(m, S("ekman"), out, &count));
    CHECK(count == 3);
    CHECK_ERR(memorable_export_examples(m, S("ekman"), out, &count), MEMORABLE_ERROR_DESTINATION_EXISTS);
    CHECK_ERR(memorable_export_examples(m, S("ekman"), NULL, &count), MEMORABLE_ERROR_NULL_POINTER);

    /* A correction is its owner's; calibration needs more of them. */
    uint64_t id = 0;
    CHECK_OK(memorable_remember(m, S("dana"), S("I feel so scared about tomorrow"), NULL, &id));
    json = NULL;
    CHECK_OK(memorable_correct(m, id, "[\"fear\"]", S("ekman"), &json));
    CHECK(contains(json, "\"user\":\"dana\"") && contains(json, "\"source\":\"correction\""));
    memorable_string_free(json);
    json = NULL;
    CHECK_ERR(memorable_correct(m, id, "[\"nope\"]", S("ekman"), &json), MEMORABLE_ERROR_INVALID_INPUT);
    CHECK_OK(memorable_calibrate(m, S("ekman"), S("dana"), &json));
    CHECK(strcmp(json, "null") == 0);
    memorable_string_free(json);

    /* A queued job (no worker): paused, resumed, cancelled. */
    uint64_t job = 0;
    CHECK_OK(memorable_train(m, S("ekman"), "{\"epochs\": 2}", &job));
    CHECK(job > 0);
    json = NULL;
    CHECK_OK(memorable_pause_job(m, job, &json));
    CHECK(contains(json, "\"state\":\"paused\""));
    memorable_string_free(json);
    json = NULL;
    CHECK_OK(memorable_resume_job(m, job, &json));
    CHECK(contains(json, "\"state\":\"queued\""));
    memorable_string_free(json);
    json = NULL;
    CHECK_OK(memorable_cancel_job(m, job, &json));
    CHECK(contains(json, "\"state\":\"cancelled\""));
    memorable_string_free(json);
    uint64_t none = 0;
    CHECK_ERR(memorable_train(m, S("ekman"), "{\"preset\": \"huge\"}", &none), MEMORABLE_ERROR_INVALID_INPUT);
    CHECK_ERR(memorable_train(m, S("nope"), NULL, &none), MEMORABLE_ERROR_NOT_FOUND);
    CHECK_ERR(memorable_train(m, S("ekman"), NULL, NULL), MEMORABLE_ERROR_NULL_POINTER);
    CHECK(none == 0);
    json = NULL;
    CHECK_ERR(memorable_pause_job(m, 987654, &json), MEMORABLE_ERROR_NOT_FOUND);
    CHECK_ERR(memorable_run_job(m, 987654, NULL, NULL, &json), MEMORABLE_ERROR_NOT_FOUND);
    CHECK(json == NULL);

    /* Nothing deployed: no classification, no rollback. */
    const char *texts[] = {"hello"};
    size_t lens[] = {5};
    memorable_classification *c = NULL;
    CHECK_ERR(memorable_classify_as(m, 1, texts, lens, S("nope"), NULL, &c), MEMORABLE_ERROR_NOT_FOUND);
    CHECK_ERR(memorable_classify_as(m, 1, texts, lens, S("ekman"), "dana", &c), MEMORABLE_ERROR_CLASSIFIER_UNAVAILABLE);
    CHECK_ERR(memorable_classify_as(m, 1, NULL, lens, S("ekman"), NULL, &c), MEMORABLE_ERROR_NULL_POINTER);
    CHECK(c == NULL);
    CHECK_ERR(memorable_rollback_classifier(m, S("nope"), NULL), MEMORABLE_ERROR_NOT_FOUND);

    CHECK_OK(memorable_close(m));
    CHECK_ERR(memorable_classifiers(m, &json), MEMORABLE_ERROR_CLOSED);
    CHECK(json == NULL);
    memorable_free(m);
    return true;
}

static bool test_classifiers_without_model(void) {
    char dir[256];
    CHECK(make_temp_dir(dir, sizeof dir));
    bool ok = classifiers_in(dir);
    remove_dir(dir);
    return ok;
}

int main(void) {
    bool passed = true;
    run_test(test_version, "test_version", &passed);
    run_test(test_round_trip, "test_round_trip", &passed);
    run_test(test_round_trip_postgres, "test_round_trip_postgres", &passed);
    run_test(test_client_key, "test_client_key", &passed);
    run_test(test_in_memory_and_options, "test_in_memory_and_options", &passed);
    run_test(test_index_memory_budget, "test_index_memory_budget", &passed);
    run_test(test_recall_filters, "test_recall_filters", &passed);
    run_test(test_update_and_history, "test_update_and_history", &passed);
    run_test(test_forget, "test_forget", &passed);
    run_test(test_user_isolation, "test_user_isolation", &passed);
    run_test(test_batch, "test_batch", &passed);
    run_test(test_text_with_nul, "test_text_with_nul", &passed);
    run_test(test_null_pointers, "test_null_pointers", &passed);
    run_test(test_invalid_input, "test_invalid_input", &passed);
    run_test(test_locked, "test_locked", &passed);
    run_test(test_store_problems, "test_store_problems", &passed);
    run_test(test_closed, "test_closed", &passed);
    run_test(test_selection_report, "test_selection_report", &passed);
    run_test(test_recall_modes, "test_recall_modes", &passed);
    run_test(test_reembed_without_model, "test_reembed_without_model", &passed);
    run_test(test_classify_without_classifier, "test_classify_without_classifier", &passed);
    run_test(test_classifiers_without_model, "test_classifiers_without_model", &passed);
    if (!passed) {
        fprintf(stderr, "test_memorable: FAILED\n");
        return 1;
    }
    fprintf(stderr, "test_memorable: all passed\n");
    return 0;
}
