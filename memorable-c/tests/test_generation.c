/* Generation over the C ABI on the real SmolLM2 GGUF (scripts/fetch-model.sh smollm2, as CI
 * does; without it these tests FAIL, never skip), and consolidation / jobs without a
 * generator: streamed text through a callback, coded errors, linked summaries and facts,
 * the cascade of forget, a background job. */
#include "test.h" /* first: it sets _XOPEN_SOURCE */

#include <time.h>

#include "json.h"

static const memorable_options LLM = {.config_json = "{\"embedder\": \"hashing\", \"generator\": \"smollm2\"}"};
static const memorable_options NONE = {.config_json = "{\"embedder\": \"hashing\", \"generator\": \"none\"}"};

typedef struct {
    char text[4096];
    size_t len;
    int calls;
    int stop_after; /* 0: never stop */
} stream_log;

static bool on_text(const char *piece, size_t len, void *user_data) {
    stream_log *log = user_data;
    if (log->len + len < sizeof log->text) {
        memcpy(log->text + log->len, piece, len);
        log->len += len;
        log->text[log->len] = '\0';
    }
    log->calls++;
    return log->stop_after == 0 || log->calls < log->stop_after;
}

static bool test_greedy_raw_completion_streams(void) {
    memorable *m = NULL;
    CHECK_OK(memorable_open_in_memory(&LLM, &m));
    const char *req = "{\"prompt\": \"1, 2, 3,\", \"raw\": true, \"max_tokens\": 8}";
    stream_log log = {0};
    char *out = NULL;
    CHECK_OK(memorable_generate(m, req, on_text, &log, &out));
    jval *g = j_parse(out);
    const char *text = j_str(g, "text");
    CHECK(text != NULL && strncmp(text, " 4, 5, 6", 8) == 0);
    CHECK(strcmp(text, log.text) == 0); /* the stream is the answer */
    CHECK(strcmp(j_str(g, "finish_reason"), "length") == 0);
    CHECK(j_num(g, "completion_tokens", -1) == 8);
    CHECK(j_get(g, "tokens")->n == 8);
    CHECK(strcmp(j_str(g, "model"), "smollm2") == 0);
    j_free(g);
    /* Temperature 0 is greedy: the same answer again (here in the core's own request shape). */
    char *again = NULL;
    CHECK_OK(memorable_generate(m, "{\"prompt\": {\"raw\": \"1, 2, 3,\"}, \"max_tokens\": 8}", NULL, NULL, &again));
    CHECK(strcmp(out, again) == 0);
    memorable_string_free(again);
    memorable_string_free(out);

    /* A chat through the GGUF's template: llama.cpp's greedy answer for this model. */
    const char *chat =
        "{\"messages\": [{\"role\": \"user\", \"content\": \"What is the capital of France?\"}],"
        " \"max_tokens\": 12}";
    CHECK_OK(memorable_generate(m, chat, NULL, NULL, &out));
    CHECK(contains(out, "\"text\":\"L'\xc3\x89toile, la Marseillaise,\""));
    memorable_string_free(out);

    /* The callback stops the generation. */
    stream_log early = {.stop_after = 2};
    CHECK_OK(memorable_generate(m, "{\"prompt\": {\"raw\": \"1, 2, 3,\"}, \"max_tokens\": 32}", on_text,
                                &early, &out));
    CHECK(early.calls == 2);
    g = j_parse(out);
    CHECK(j_num(g, "completion_tokens", 99) < 32);
    j_free(g);
    memorable_string_free(out);
    memorable_free(m);
    return true;
}

static bool test_generation_errors(void) {
    memorable *m = NULL;
    CHECK_OK(memorable_open_in_memory(&NONE, &m));
    char *out = NULL;
    CHECK_ERR(memorable_generate(m, "{\"prompt\": {\"raw\": \"hi\"}}", NULL, NULL, &out),
              MEMORABLE_ERROR_NO_GENERATOR);
    CHECK(out == NULL);
    CHECK_ERR(memorable_generate(m, "not json", NULL, NULL, &out), MEMORABLE_ERROR_INVALID_INPUT);
    CHECK_ERR(memorable_generate(m, "{\"prompt\": \"hi\", \"max_token\": 5}", NULL, NULL, &out),
              MEMORABLE_ERROR_INVALID_INPUT);
    CHECK_ERR(memorable_generate(m, "{\"prompt\": {\"raw\": \"hi\"}, \"temperature\": -1}", NULL, NULL, &out),
              MEMORABLE_ERROR_INVALID_INPUT);
    CHECK_ERR(memorable_generate(m, NULL, NULL, NULL, &out), MEMORABLE_ERROR_NULL_POINTER);
    CHECK_ERR(memorable_job(m, 10000, &out), MEMORABLE_ERROR_NOT_FOUND);
    CHECK_OK(memorable_generator_report(m, &out));
    CHECK(contains(out, "\"requested\":\"none\"") && contains(out, "\"decisions\""));
    memorable_string_free(out);
    CHECK_ERR(memorable_generator_report(m, NULL), MEMORABLE_ERROR_NULL_POINTER);
    memorable_free(m);
    return true;
}

static bool seed(memorable *m, uint64_t ids[4]) {
    const char *turns[4][2] = {
        {"Caroline", "I adopted a beagle called Max last Saturday."},
        {"Melanie", "Lovely! I went hiking in Yosemite with my sister."},
        {"Caroline", "Max loves the park near my flat in Lisbon."},
        {"Melanie", "I start my new job as a nurse on Monday."},
    };
    for (int i = 0; i < 4; i++) {
        memorable_memory_options o = memorable_memory_options_default();
        o.session = "s1";
        o.speaker = turns[i][0];
        CHECK_OK(memorable_remember(m, S("u"), S(turns[i][1]), &o, &ids[i]));
    }
    return true;
}

static bool on_progress(const char *json, void *user_data) {
    int *calls = user_data;
    (*calls)++;
    return contains(json, "\"sessions_total\":1");
}

static bool test_extractive_consolidation_and_cascade(void) {
    memorable *m = NULL;
    CHECK_OK(memorable_open_in_memory(&NONE, &m));
    uint64_t sources[4];
    CHECK(seed(m, sources));
    int calls = 0;
    char *report = NULL;
    CHECK_OK(memorable_consolidate(m, S("u"), "{\"session\": \"s1\"}", on_progress, &calls, &report));
    CHECK(calls == 1);
    jval *r = j_parse(report);
    CHECK(strcmp(j_str(r, "path"), "extractive") == 0);
    const jval *summaries = j_get(r, "summaries");
    CHECK(summaries != NULL && summaries->n == 1 && j_get(r, "facts")->n > 0);
    uint64_t summary = (uint64_t)j_num(&summaries->items[0], "id", 0);
    j_free(r);
    memorable_string_free(report);

    memorable_results *got = NULL;
    CHECK_OK(memorable_get(m, summary, &got));
    CHECK(strcmp(memorable_results_kind(got, 0), "summary") == 0);
    size_t n = 0;
    const uint64_t *from = memorable_results_derived_from(got, 0, &n);
    CHECK(from != NULL && n > 0);
    for (size_t i = 0; i < n; i++) CHECK(from[i] >= sources[0] && from[i] <= sources[3]);
    memorable_results_free(got);

    /* Forgetting every source forgets what was derived only from them. */
    for (int i = 0; i < 4; i++) CHECK_OK(memorable_forget(m, sources[i]));
    CHECK_ERR(memorable_get(m, summary, &got), MEMORABLE_ERROR_NOT_FOUND);
    memorable_free(m);
    return true;
}

static bool test_background_job(void) {
    memorable *m = NULL;
    CHECK_OK(memorable_open_in_memory(&NONE, &m));
    uint64_t sources[4];
    CHECK(seed(m, sources));
    uint64_t job = 0;
    CHECK_OK(memorable_consolidate_in_background(m, S("u"), NULL, &job));
    char *json = NULL;
    for (int i = 0; i < 1500; i++) { /* up to 30 s */
        CHECK_OK(memorable_job(m, job, &json));
        if (!contains(json, "\"state\":\"queued\"") && !contains(json, "\"state\":\"running\"")) break;
        memorable_string_free(json);
        json = NULL;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    CHECK(json != NULL);
    if (!contains(json, "\"state\":\"succeeded\"")) fprintf(stderr, "  job: %s\n", json);
    CHECK(contains(json, "\"state\":\"succeeded\""));
    CHECK(contains(json, "\"kind\":\"consolidate\""));
    memorable_string_free(json);
    CHECK_OK(memorable_jobs(m, &json));
    CHECK(json[0] == '[' && contains(json, "\"kind\":\"consolidate\""));
    memorable_string_free(json);
    memorable_free(m);
    return true;
}

int main(void) {
    bool passed = true;
    run_test(test_greedy_raw_completion_streams, "test_greedy_raw_completion_streams", &passed);
    run_test(test_generation_errors, "test_generation_errors", &passed);
    run_test(test_extractive_consolidation_and_cascade, "test_extractive_consolidation_and_cascade", &passed);
    run_test(test_background_job, "test_background_job", &passed);
    if (!passed) {
        fprintf(stderr, "test_generation: FAILED\n");
        return 1;
    }
    fprintf(stderr, "test_generation: all passed\n");
    return 0;
}
