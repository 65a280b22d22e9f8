/* Retrieval through the C API: ranking weights and the score breakdown (cases mirrored from
 * tests/fixtures/ranking.json, which C does not parse), time windows at their boundaries,
 * recent with a window, the context frame, and bad options. Hashing-embedder stores. */
#include "test.h"

#define MIN_MS 60000LL
/* 2024-06-01T08:00:00Z */
#define JUN_2024_MS 1717228800000LL

static bool remember_at(memorable *m, const char *user, const char *text, int64_t at_ms,
                        const char *speaker, double importance, uint64_t *id) {
    memorable_memory_options o = memorable_memory_options_default();
    o.has_occurred_at = true;
    o.occurred_at_ms = at_ms;
    o.speaker = speaker;
    o.importance = importance;
    CHECK_OK(memorable_remember(m, user, strlen(user), text, strlen(text), &o, id));
    return true;
}

static bool test_weights_and_breakdown(void) {
    memorable *m = NULL;
    CHECK_OK(memorable_open_in_memory(hashing(), &m));
    uint64_t old_id = 0, new_id = 0;
    CHECK(remember_at(m, "g", "I went running in the park", JUN_2024_MS - 152 * 24 * 60 * MIN_MS, NULL, NAN, &old_id));
    CHECK(remember_at(m, "g", "I went running in the park", JUN_2024_MS - 24 * 60 * MIN_MS, NULL, NAN, &new_id));

    memorable_rank_weights w = memorable_rank_weights_default();
    CHECK(w.semantic == 1.0 && w.keyword > 0.0 && w.context_turns == 2);
    w.recency = 1.0;
    w.recency_half_life_hours = 168.0;
    memorable_recall_options o = memorable_recall_options_default();
    o.has_at = true;
    o.at_ms = JUN_2024_MS;
    o.weights = &w;
    memorable_results *r = NULL;
    CHECK_OK(memorable_recall(m, S("g"), S("running in the park"), &o, &r));
    CHECK(memorable_results_len(r) == 2);
    CHECK(memorable_results_id(r, 0) == new_id);
    memorable_score_breakdown b;
    CHECK(memorable_results_breakdown(r, 0, &b));
    CHECK(b.recency > 0.0 && b.semantic_rank >= 1 && !isnan(b.semantic));
    double total = b.fused + b.context + b.recency + b.importance + b.arousal + b.access + b.mood + b.who + b.date;
    CHECK(fabs(total - memorable_results_score(r, 0)) < 1e-4);
    CHECK(!memorable_results_breakdown(r, 2, &b));
    CHECK(!memorable_results_breakdown(r, 0, NULL));
    memorable_results_free(r);

    /* Recency off: identical relevance, ties by id, the older memory first. */
    w.recency = 0.0;
    w.importance = 0.0;
    w.access = 0.0;
    CHECK_OK(memorable_recall(m, S("g"), S("running in the park"), &o, &r));
    CHECK(memorable_results_id(r, 0) == old_id);
    CHECK(memorable_results_breakdown(r, 1, &b));
    CHECK(b.recency == 0.0 && b.importance == 0.0 && b.access == 0.0);
    memorable_results_free(r);

    /* recent results carry no breakdown. */
    CHECK_OK(memorable_recent(m, S("g"), NULL, &r));
    CHECK(!memorable_results_breakdown(r, 0, &b));
    memorable_results_free(r);
    memorable_free(m);
    return true;
}

static bool test_who_and_fusion(void) {
    memorable *m = NULL;
    CHECK_OK(memorable_open_in_memory(hashing(), &m));
    uint64_t mel = 0, caro = 0;
    CHECK(remember_at(m, "g", "I love painting landscapes on weekends", JUN_2024_MS, "Melanie", NAN, &mel));
    CHECK(remember_at(m, "g", "I love painting landscapes on weekends", JUN_2024_MS, "Caroline", NAN, &caro));
    memorable_results *r = NULL;
    CHECK_OK(memorable_recall(m, S("g"), S("What does Caroline love painting?"), NULL, &r));
    CHECK(memorable_results_id(r, 0) == caro);
    memorable_score_breakdown b;
    CHECK(memorable_results_breakdown(r, 0, &b) && b.who > 0.0);
    memorable_results_free(r);
    memorable_recall_options o = memorable_recall_options_default();
    o.fusion = MEMORABLE_FUSION_RRF;
    o.no_track_access = true;
    o.has_mood_valence = true;
    o.mood_valence = 0.5;
    CHECK_OK(memorable_recall(m, S("g"), S("painting"), &o, &r));
    CHECK(memorable_results_len(r) == 2);
    memorable_results_free(r);
    memorable_free(m);
    return true;
}

static bool test_window_boundaries(void) {
    memorable *m = NULL;
    CHECK_OK(memorable_open_in_memory(hashing(), &m));
    uint64_t id = 0;
    CHECK(remember_at(m, "u", "at anchor", JUN_2024_MS, NULL, NAN, &id));
    CHECK(remember_at(m, "u", "exactly twenty minutes", JUN_2024_MS - 20 * MIN_MS, NULL, NAN, &id));
    CHECK(remember_at(m, "u", "just outside", JUN_2024_MS - 20 * MIN_MS - 1, NULL, NAN, &id));
    CHECK(remember_at(m, "u", "future", JUN_2024_MS + 1, NULL, NAN, &id));
    memorable_recall_options o = memorable_recall_options_default();
    o.window = MEMORABLE_WINDOW_SHORT;
    o.has_at = true;
    o.at_ms = JUN_2024_MS;
    memorable_results *r = NULL;
    CHECK_OK(memorable_recent(m, S("u"), &o, &r));
    CHECK(memorable_results_len(r) == 2);
    CHECK(strcmp(memorable_results_text(r, 0), "at anchor") == 0);
    CHECK(strcmp(memorable_results_text(r, 1), "exactly twenty minutes") == 0);
    memorable_results_free(r);
    o.window = MEMORABLE_WINDOW_SECONDS;
    o.window_secs = 1;
    CHECK_OK(memorable_recall(m, S("u"), S("anchor"), &o, &r));
    CHECK(memorable_results_len(r) == 1);
    memorable_results_free(r);
    o.window_secs = 0;
    CHECK_ERR(memorable_recent(m, S("u"), &o, &r), 1);
    o.window = 99;
    CHECK_ERR(memorable_recall(m, S("u"), S("x"), &o, &r), 1);
    o = memorable_recall_options_default();
    o.fusion = 7;
    CHECK_ERR(memorable_recall(m, S("u"), S("x"), &o, &r), 1);
    memorable_rank_weights w = memorable_rank_weights_default();
    w.who = -1.0;
    o = memorable_recall_options_default();
    o.weights = &w;
    CHECK_ERR(memorable_recall(m, S("u"), S("x"), &o, &r), 1);
    o = memorable_recall_options_default();
    o.has_mood_arousal = true;
    o.mood_arousal = 2.0;
    CHECK_ERR(memorable_recall(m, S("u"), S("x"), &o, &r), 1);
    memorable_free(m);
    return true;
}

static bool test_context_frame(void) {
    memorable *m = NULL;
    CHECK_OK(memorable_open_in_memory(hashing(), &m));
    /* Times relative to now: no occurred_at means "now". */
    uint64_t id = 0;
    memorable_memory_options o = memorable_memory_options_default();
    o.speaker = "Ann";
    CHECK_OK(memorable_remember(m, S("ann"), S("I am planning a trip, a week in Lisbon with Priya"), &o, &id));
    o.speaker = "Ben";
    CHECK_OK(memorable_remember(m, S("ann"), S("The trip sounds great, book a table at Cafe Roma"), &o, &id));
    char *json = NULL;
    CHECK_OK(memorable_context_frame(m, S("ann"), MEMORABLE_WINDOW_SHORT, 0, &json));
    CHECK(json != NULL);
    CHECK(strstr(json, "\"memories\":2") != NULL);
    CHECK(strstr(json, "{\"name\":\"Priya\",\"count\":1}") != NULL);
    CHECK(strstr(json, "\"where\":[{\"name\":\"Cafe Roma\",\"count\":1},{\"name\":\"Lisbon\",\"count\":1}]") != NULL);
    CHECK(strstr(json, "{\"name\":\"trip\",\"count\":2}") != NULL);
    CHECK(strstr(json, "\"emotion\":null") != NULL);
    memorable_string_free(json);
    json = NULL;
    CHECK_ERR(memorable_context_frame(m, S("ann"), 42, 0, &json), 1);
    CHECK(json == NULL);
    CHECK_ERR(memorable_context_frame(m, S("ann"), MEMORABLE_WINDOW_NONE, 0, NULL), 9);
    CHECK_ERR(memorable_context_frame(m, S(" "), MEMORABLE_WINDOW_NONE, 0, &json), 4);
    memorable_free(m);
    return true;
}

/* memorable_users lists holders with counts (by prefix); offset pages memorable_recent. */
static bool test_users_and_offset(void) {
    memorable *m = NULL;
    CHECK_OK(memorable_open_in_memory(hashing(), &m));
    uint64_t id = 0;
    char text[32];
    for (int i = 0; i < 5; i++) {
        snprintf(text, sizeof text, "note %d", i);
        CHECK_OK(memorable_remember(m, S("t:ann"), S(text), NULL, &id));
    }
    CHECK_OK(memorable_remember(m, S("t:bob"), S("hello"), NULL, &id));
    CHECK_OK(memorable_remember(m, S("other"), S("hi"), NULL, &id));
    char *json = NULL;
    CHECK_OK(memorable_users(m, NULL, &json));
    CHECK(strcmp(json, "[{\"user\":\"other\",\"memories\":1},{\"user\":\"t:ann\",\"memories\":5},"
                       "{\"user\":\"t:bob\",\"memories\":1}]") == 0);
    memorable_string_free(json);
    CHECK_OK(memorable_users(m, "t:", &json));
    CHECK(contains(json, "t:ann") && !contains(json, "other"));
    memorable_string_free(json);

    memorable_recall_options o = memorable_recall_options_default();
    o.limit = 10;
    memorable_results *all = NULL;
    CHECK_OK(memorable_recent(m, S("t:ann"), &o, &all));
    CHECK(memorable_results_len(all) == 5);
    o.limit = 2;
    o.offset = 3;
    memorable_results *page = NULL;
    CHECK_OK(memorable_recent(m, S("t:ann"), &o, &page));
    CHECK(memorable_results_len(page) == 2);
    CHECK(memorable_results_id(page, 0) == memorable_results_id(all, 3));
    CHECK(memorable_results_id(page, 1) == memorable_results_id(all, 4));
    memorable_results_free(page);
    memorable_results_free(all);
    o.offset = 100001;
    CHECK_ERR(memorable_recent(m, S("t:ann"), &o, &page), MEMORABLE_ERROR_INVALID_INPUT);

    /* memorable_derived: the memories made from one. */
    uint64_t source = id;
    memorable_memory_options mo = memorable_memory_options_default();
    mo.kind = "summary";
    mo.derived_from = &source;
    mo.derived_from_len = 1;
    uint64_t summary = 0;
    CHECK_OK(memorable_remember(m, S("other"), S("a summary of hi"), &mo, &summary));
    memorable_results *derived = NULL;
    CHECK_OK(memorable_derived(m, source, &derived));
    CHECK(memorable_results_len(derived) == 1 && memorable_results_id(derived, 0) == summary);
    memorable_results_free(derived);
    derived = NULL;
    CHECK_ERR(memorable_derived(m, 424242, &derived), MEMORABLE_ERROR_NOT_FOUND);
    CHECK(derived == NULL);
    memorable_free(m);
    return true;
}

int main(void) {
    bool passed = true;
    run_test(test_weights_and_breakdown, "test_weights_and_breakdown", &passed);
    run_test(test_who_and_fusion, "test_who_and_fusion", &passed);
    run_test(test_users_and_offset, "test_users_and_offset", &passed);
    run_test(test_window_boundaries, "test_window_boundaries", &passed);
    run_test(test_context_frame, "test_context_frame", &passed);
    if (!passed) {
        fprintf(stderr, "test_retrieval: FAILED\n");
        return 1;
    }
    fprintf(stderr, "test_retrieval: all passed\n");
    return 0;
}
