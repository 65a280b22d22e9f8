/* The emotional layer through the C API: the shared fusion golden cases
 * (tests/fixtures/emotion-fusion.json), catalog spellings, persistence across reopen, bad input,
 * NULL pointers, and the snapshot on remembered memories. Stores use the hashing embedder. */
#include "test.h"

#include "json.h"

/* tests/fixtures of the repository, found from this file's path (the Makefile compiles it by
 * its absolute path), so the test runs from any directory. */
static void fixture_path(char *buf, size_t size, const char *name) {
    const char *file = __FILE__; /* .../memorable-c/tests/test_emotion.c */
    const char *cut = strstr(file, "memorable-c/tests/");
    int prefix = cut ? (int)(cut - file) : 0;
    snprintf(buf, size, "%.*stests/fixtures/%s", prefix, file, name);
}

static jval *fixture(const char *name) {
    char path[4096];
    fixture_path(path, sizeof path, name);
    jval *v = j_parse_file(path);
    if (v == NULL) fprintf(stderr, "  cannot read fixture %s\n", path);
    return v;
}

static bool close_to(double got, double want, double tol, const char *what, const char *key) {
    if (fabs(got - want) <= tol) return true;
    fprintf(stderr, "  %s: %s = %.9g, want %.9g\n", what, key, got, want);
    return false;
}

/* Compare a state (JSON from the library) with a case's `expected`. */
static bool check_state(const char *name, const jval *expected, const char *state_json, double tol) {
    jval *state = j_parse(state_json);
    CHECK(state != NULL);
    bool ok = true;
    const jval *scores = j_get(state, "scores");
    const jval *want = j_get(expected, "scores");
    ok = ok && scores != NULL && scores->n == 62;
    for (size_t i = 0; ok && i < scores->n; i++)
        ok = close_to(scores->items[i].num, j_num(want, scores->keys[i], 0.0), tol, name, scores->keys[i]);
    const char *keys[] = {"confidence", "valence", "arousal"};
    for (size_t k = 0; ok && k < 3; k++)
        if (j_get(expected, keys[k]))
            ok = close_to(j_num(state, keys[k], NAN), j_num(expected, keys[k], 0), tol, name, keys[k]);
    const jval *dominant = j_get(expected, "dominant");
    const char *got_dominant = j_str(state, "dominant");
    if (ok && dominant->t == J_NULL) ok = got_dominant == NULL;
    if (ok && dominant->t == J_STR) ok = got_dominant != NULL && strcmp(got_dominant, dominant->str) == 0;
    if (!ok) fprintf(stderr, "  %s: dominant %s, want %s\n", name, got_dominant ? got_dominant : "null",
                     dominant->t == J_STR ? dominant->str : "null");
    const jval *extras = j_get(expected, "extras");
    for (size_t i = 0; ok && extras && i < extras->n; i++)
        ok = close_to(j_num(j_get(state, "extras"), extras->keys[i], NAN), extras->items[i].num, tol, name,
                      extras->keys[i]);
    const jval *sources = j_get(expected, "sources");
    const jval *got_sources = j_get(state, "sources");
    for (size_t i = 0; ok && sources && i < sources->n; i++) {
        const jval *b = NULL;
        for (size_t j = 0; j < got_sources->n; j++)
            if (strcmp(j_str(&got_sources->items[j], "source"), sources->keys[i]) == 0) b = &got_sources->items[j];
        ok = b != NULL && close_to(j_num(b, "confidence", NAN), j_num(&sources->items[i], "confidence", 0), tol, name,
                                   "source confidence") &&
             close_to(j_num(b, "share", NAN), j_num(&sources->items[i], "share", 0), tol, name, "source share");
    }
    j_free(state);
    return ok;
}

/* A memorable_reading for fixture reading `r` of context `ctx`; the name pointers stay owned by
 * the parsed fixture, the arrays by `names_buf` etc. (sized 64). */
static memorable_reading make_reading(const jval *r, const char *ctx, long long t0, const char **names, size_t *lens,
                                      float *scores) {
    memorable_reading out = memorable_reading_default();
    out.context = ctx;
    out.context_len = strlen(ctx);
    out.source = j_str(r, "source");
    out.source_len = strlen(out.source);
    const jval *s = j_get(r, "scores");
    for (size_t i = 0; i < s->n && i < 64; i++) {
        names[i] = s->keys[i];
        lens[i] = strlen(s->keys[i]);
        scores[i] = (float)s->items[i].num;
    }
    out.count = s->n;
    out.names = names;
    out.name_lens = lens;
    out.scores = scores;
    out.confidence = (float)j_num(r, "confidence", 1.0);
    out.timestamp_ms = t0 + (long long)j_num(r, "t_ms", 0);
    const jval *sem = j_get(r, "semantics");
    if (sem && strcmp(j_str(sem, "kind"), "sparse") == 0) {
        out.sparse = true;
        out.missing = (float)j_num(sem, "missing", 0.0);
        out.vocabulary = j_str(sem, "vocabulary");
    }
    return out;
}

/* An empty model cache: with it, opening a hashing store skips checksumming the MiniLM files
 * of the real cache (~0.4 s natively, far longer under valgrind), 30 times over. */
static char empty_model_dir[256];

/* Open an in-memory hashing store whose `emotion` config section is `config`. */
static memorable *open_with(const jval *config) {
    char *section = j_dump(config);
    size_t size = strlen(section) + strlen(empty_model_dir) + 96;
    char *json = malloc(size);
    snprintf(json, size, "{\"embedder\": \"hashing\", \"model_dir\": \"%s\", \"emotion\": %s}",
             empty_model_dir, section);
    memorable_options opts = {.config_json = json};
    memorable *m = NULL;
    memorable_error *err = memorable_open_in_memory(&opts, &m);
    if (err) {
        fprintf(stderr, "  open: %s\n", memorable_error_message(err));
        memorable_error_free(err);
    }
    free(section);
    free(json);
    return m;
}

static bool test_golden_cases(void) {
    jval *f = fixture("emotion-fusion.json");
    CHECK(f != NULL);
    long long t0 = (long long)j_num(f, "t0_ms", 0);
    double tol = j_num(f, "tolerance", 0);
    const jval *cases = j_get(f, "cases");
    CHECK(cases->n >= 12);
    bool ok = true;
    for (size_t c = 0; ok && c < cases->n; c++) {
        const jval *cs = &cases->items[c];
        const char *name = j_str(cs, "name");
        const jval *readings = j_get(cs, "readings");
        memorable *one = open_with(j_get(cs, "config"));
        memorable *batch = open_with(j_get(cs, "config"));
        CHECK(one != NULL && batch != NULL);
        const char *names[8][64];
        size_t lens[8][64];
        float scores[8][64];
        memorable_reading all[8];
        CHECK(readings->n <= 8);
        for (size_t i = 0; i < readings->n; i++) {
            all[i] = make_reading(&readings->items[i], name, t0, names[i], lens[i], scores[i]);
            char *after = NULL;
            CHECK_OK(memorable_observe(one, &all[i], &after));
            CHECK(contains(after, "\"context\":\""));
            memorable_string_free(after);
        }
        CHECK_OK(memorable_observe_batch(batch, all, readings->n));
        long long at = t0 + (long long)j_num(cs, "at_ms", 0);
        char *state = NULL;
        CHECK_OK(memorable_emotional_state(one, S(name), at, &state));
        ok = check_state(name, j_get(cs, "expected"), state, tol);
        memorable_string_free(state);
        state = NULL;
        CHECK_OK(memorable_emotional_state(batch, S(name), at, &state));
        ok = ok && check_state(name, j_get(cs, "expected"), state, tol);
        memorable_string_free(state);
        memorable_free(one);
        memorable_free(batch);
    }
    j_free(f);
    return ok;
}

static bool test_catalog(void) {
    char *json = NULL;
    CHECK_OK(memorable_emotion_catalog(&json));
    jval *catalog = j_parse(json);
    memorable_string_free(json);
    CHECK(catalog != NULL && catalog->t == J_ARR && catalog->n == 62);
    jval *names = fixture("emotion-names.json");
    CHECK(names != NULL);
    const char *lists[] = {"hume_legacy", "hume_language_extra", "goemotions"};
    bool ok = true;
    for (size_t l = 0; l < 3; l++) {
        const jval *list = j_get(names, lists[l]);
        for (size_t i = 0; i < list->n; i++) {
            char lower[64];
            snprintf(lower, sizeof lower, "%s", list->items[i].str);
            for (char *p = lower; *p; p++) *p = (char)tolower((unsigned char)*p);
            bool found = false, found_lower = false;
            for (size_t e = 0; e < catalog->n; e++) {
                const jval *aliases = j_get(&catalog->items[e], "aliases");
                for (size_t a = 0; a < aliases->n; a++) {
                    found |= strcmp(aliases->items[a].str, list->items[i].str) == 0;
                    found_lower |= strcmp(aliases->items[a].str, lower) == 0;
                }
            }
            if (!found || !found_lower) {
                fprintf(stderr, "  %s does not resolve\n", list->items[i].str);
                ok = false;
            }
        }
    }
    j_free(names);
    j_free(catalog);
    return ok;
}

/* A one-score reading of `ctx` from `source`, at `t_ms` (MEMORABLE_TIME_UNSET for now). */
static memorable_reading one_score(const char *ctx, const char *source, const char **name, size_t *len,
                                   float *score, long long t_ms) {
    memorable_reading r = memorable_reading_default();
    r.context = ctx;
    r.context_len = strlen(ctx);
    r.source = source;
    r.source_len = strlen(source);
    *len = strlen(*name);
    r.count = 1;
    r.names = name;
    r.name_lens = len;
    r.scores = score;
    r.timestamp_ms = t_ms;
    return r;
}

static bool test_persistence(void) {
    char dir[256];
    CHECK(make_temp_dir(dir, sizeof dir));
    const long long t0 = 1714554000000LL; /* 2024-05-01T09:00:00Z */
    memorable *m = NULL;
    CHECK_OK(memorable_open(dir, hashing(), &m));
    const char *joy = "Joy", *jaw = "jaw drop";
    size_t l1, l2;
    float v1 = 0.8f, v2 = 0.3f;
    memorable_reading a = one_score("call", "evi", &joy, &l1, &v1, t0);
    memorable_reading b = one_score("call", "face", &jaw, &l2, &v2, t0 + 1000);
    b.confidence = 0.5f;
    CHECK_OK(memorable_observe(m, &a, NULL));
    CHECK_OK(memorable_observe(m, &b, NULL));
    CHECK_OK(memorable_close_context(m, S("call")));
    char *state = NULL, *history = NULL, *contexts = NULL;
    CHECK_OK(memorable_emotional_state(m, S("call"), t0 + 60000, &state));
    CHECK_OK(memorable_emotional_history(m, S("call"), 0, MEMORABLE_TIME_UNSET, MEMORABLE_TIME_UNSET, &history));
    CHECK_OK(memorable_contexts(m, &contexts));
    CHECK(contains(state, "\"dominant\":\"joy\""));
    CHECK(contains(state, "\"extras\":{\"jaw drop\":0.3}"));
    CHECK(contains(contexts, "\"open\":false"));
    memorable_free(m);

    m = NULL;
    CHECK_OK(memorable_open(dir, hashing(), &m));
    char *state2 = NULL, *history2 = NULL, *contexts2 = NULL, *last = NULL;
    CHECK_OK(memorable_emotional_state(m, S("call"), t0 + 60000, &state2));
    CHECK_OK(memorable_emotional_history(m, S("call"), 0, MEMORABLE_TIME_UNSET, MEMORABLE_TIME_UNSET, &history2));
    CHECK_OK(memorable_contexts(m, &contexts2));
    CHECK(strcmp(state, state2) == 0);
    CHECK(strcmp(history, history2) == 0);
    CHECK(strcmp(contexts, contexts2) == 0);
    CHECK_OK(memorable_emotional_history(m, S("call"), 1, t0 + 1, MEMORABLE_TIME_UNSET, &last));
    jval *h = j_parse(last);
    CHECK(h != NULL && h->n == 1 && j_num(&h->items[0], "readings", 0) == 2);
    j_free(h);
    unsigned long long n = 0;
    char *stats = NULL;
    CHECK_OK(memorable_stats(m, &stats));
    CHECK(json_u64(stats, "readings", &n) && n == 2);
    CHECK(contains(stats, "\"unknown_names\":{\"jaw drop\":1}"));
    memorable_string_free(stats);
    memorable_string_free(state);
    memorable_string_free(state2);
    memorable_string_free(history);
    memorable_string_free(history2);
    memorable_string_free(contexts);
    memorable_string_free(contexts2);
    memorable_string_free(last);
    memorable_free(m);
    remove_dir(dir);
    return true;
}

static bool test_bad_input(void) {
    memorable *m = NULL;
    CHECK_OK(memorable_open_in_memory(hashing(), &m));
    const char *joy = "joy";
    size_t len;
    float v = 0.5f;
    memorable_reading ok = one_score("c", "face", &joy, &len, &v, MEMORABLE_TIME_UNSET);
    CHECK_OK(memorable_observe(m, &ok, NULL));
    char *before = NULL, *before_h = NULL;
    CHECK_OK(memorable_contexts(m, &before));
    CHECK_OK(memorable_emotional_history(m, S("c"), 0, MEMORABLE_TIME_UNSET, MEMORABLE_TIME_UNSET, &before_h));

    float bad_values[] = {1.5f, -0.1f, NAN, INFINITY};
    for (size_t i = 0; i < 4; i++) {
        memorable_reading r = one_score("c", "face", &joy, &len, &bad_values[i], MEMORABLE_TIME_UNSET);
        CHECK_ERR(memorable_observe(m, &r, NULL), MEMORABLE_ERROR_INVALID_INPUT);
        memorable_reading pair[2] = {ok, r};
        CHECK_ERR(memorable_observe_batch(m, pair, 2), MEMORABLE_ERROR_INVALID_INPUT);
    }
    memorable_reading r = ok;
    r.confidence = -0.2f;
    CHECK_ERR(memorable_observe(m, &r, NULL), MEMORABLE_ERROR_INVALID_INPUT);
    r = ok;
    r.count = 0;
    CHECK_ERR(memorable_observe(m, &r, NULL), MEMORABLE_ERROR_INVALID_INPUT); /* empty scores */
    r = ok;
    r.timestamp_ms = 32503680000000LL; /* year 3000 */
    CHECK_ERR(memorable_observe(m, &r, NULL), MEMORABLE_ERROR_INVALID_INPUT);
    r = ok;
    r.source = "camera";
    r.source_len = 6;
    CHECK_ERR(memorable_observe(m, &r, NULL), MEMORABLE_ERROR_INVALID_INPUT);
    r = ok;
    r.sparse = true;
    r.vocabulary = "klingon";
    CHECK_ERR(memorable_observe(m, &r, NULL), MEMORABLE_ERROR_INVALID_INPUT);
    r = ok;
    const char *bad_utf8 = "\xff\xfe";
    size_t bad_len = 2;
    r.names = &bad_utf8;
    r.name_lens = &bad_len;
    CHECK_ERR(memorable_observe(m, &r, NULL), MEMORABLE_ERROR_INVALID_UTF8);
    r = ok;
    r.names = NULL;
    CHECK_ERR(memorable_observe(m, &r, NULL), MEMORABLE_ERROR_NULL_POINTER);
    CHECK_ERR(memorable_observe(m, NULL, NULL), MEMORABLE_ERROR_NULL_POINTER);
    CHECK_ERR(memorable_observe(NULL, &ok, NULL), MEMORABLE_ERROR_NULL_POINTER);
    CHECK_ERR(memorable_observe_batch(m, NULL, 2), MEMORABLE_ERROR_NULL_POINTER);
    CHECK_OK(memorable_observe_batch(m, NULL, 0));
    char *out = NULL;
    CHECK_ERR(memorable_emotional_state(m, S("never"), MEMORABLE_TIME_UNSET, &out), MEMORABLE_ERROR_NOT_FOUND);
    CHECK_ERR(memorable_emotional_state(m, S("c"), MEMORABLE_TIME_UNSET, NULL), MEMORABLE_ERROR_NULL_POINTER);
    CHECK_ERR(memorable_close_context(m, S("never")), MEMORABLE_ERROR_NOT_FOUND);
    CHECK(out == NULL); /* nothing written on failure */

    char *after = NULL, *after_h = NULL;
    CHECK_OK(memorable_contexts(m, &after));
    CHECK_OK(memorable_emotional_history(m, S("c"), 0, MEMORABLE_TIME_UNSET, MEMORABLE_TIME_UNSET, &after_h));
    CHECK(strcmp(before, after) == 0);
    CHECK(strcmp(before_h, after_h) == 0);
    memorable_string_free(before);
    memorable_string_free(before_h);
    memorable_string_free(after);
    memorable_string_free(after_h);
    memorable_free(m);
    return true;
}

static bool test_snapshot_on_remember(void) {
    memorable *m = NULL;
    CHECK_OK(memorable_open_in_memory(hashing(), &m));
    uint64_t plain = 0, id = 0;
    CHECK_OK(memorable_remember(m, S("alice"), S("no session here"), NULL, &plain));
    const char *sad = "Sadness";
    size_t len;
    float v = 0.7f;
    memorable_reading r = one_score("s1", "evi", &sad, &len, &v, MEMORABLE_TIME_UNSET);
    CHECK_OK(memorable_observe(m, &r, NULL));
    memorable_memory_options opts = memorable_memory_options_default();
    opts.session = "s1";
    CHECK_OK(memorable_remember(m, S("alice"), S("I miss my old dog"), &opts, &id));
    memorable_results *res = NULL;
    CHECK_OK(memorable_get(m, plain, &res));
    CHECK(memorable_results_emotion_json(res, 0) == NULL);
    memorable_results_free(res);
    res = NULL;
    CHECK_OK(memorable_get(m, id, &res));
    const char *snap = memorable_results_emotion_json(res, 0);
    CHECK(contains(snap, "\"dominant\":\"sadness\""));
    CHECK(contains(snap, "\"scores\":{\"sadness\":0.7}"));
    CHECK(memorable_results_emotion_json(res, 1) == NULL); /* out of range */
    memorable_results_free(res);
    memorable_free(m);
    return true;
}

/* memorable_ingest_hume: recorded Hume messages (an EVI user_message, a v1 audio result) move a
 * context's fused state; messages without a measurement fuse nothing; bad JSON and NULLs are
 * refused, write nothing, and change nothing. */
static bool test_ingest_hume(void) {
    memorable *m = NULL;
    CHECK_OK(memorable_open_in_memory(hashing(), &m));
    const char *voice = "{\"type\":\"measurement.result\",\"measurement_id\":0,\"utterance_id\":0,"
                        "\"audio_start_ms\":0,\"audio_end_ms\":3000,\"trigger\":\"interval\","
                        "\"expressions\":[{\"name\":\"interest\",\"probability\":0.62},"
                        "{\"name\":\"feeling uplifted\",\"probability\":0.4}]}";
    const char *evi = "{\"type\":\"user_message\",\"message\":{\"role\":\"user\",\"content\":\"I got the job!\"},"
                      "\"models\":{\"prosody\":{\"scores\":{\"Joy\":0.8,\"Excitement\":0.5,\"Interest\":0.1}}},"
                      "\"time\":{\"begin\":0,\"end\":900},\"from_text\":false,\"interim\":false}";
    char *report = NULL;
    CHECK_OK(memorable_ingest_hume(m, S("call"), S(voice), &report));
    jval *r = j_parse(report);
    CHECK(r != NULL);
    CHECK(j_num(r, "readings", -1) == 1);
    const char *dominant = j_str(j_get(r, "state"), "dominant");
    CHECK(dominant != NULL && strcmp(dominant, "interest") == 0);
    CHECK(j_get(j_get(j_get(r, "state"), "extras"), "feeling uplifted") != NULL); /* unknown name kept */
    CHECK(contains(report, "\"sources\":[\"voice\"]"));
    j_free(r);
    memorable_string_free(report);
    report = NULL;

    CHECK_OK(memorable_ingest_hume(m, S("call"), S(evi), NULL)); /* the report is optional */
    char *state = NULL;
    CHECK_OK(memorable_emotional_state(m, S("call"), MEMORABLE_TIME_UNSET, &state));
    CHECK(contains(state, "\"dominant\":\"joy\""));
    CHECK(contains(state, "\"readings\":2"));

    /* No measurement: nothing fused, the notice reported, no state for a new context. */
    CHECK_OK(memorable_ingest_hume(m, S("quiet"), S("{\"error\":\"Audio too long\",\"code\":\"E0203\"}"), &report));
    CHECK(contains(report, "\"readings\":0") && contains(report, "\"code\":\"E0203\"") &&
          contains(report, "\"state\":null"));
    memorable_string_free(report);
    report = NULL;

    CHECK_ERR(memorable_ingest_hume(m, S("call"), S("{not json"), &report), MEMORABLE_ERROR_INVALID_INPUT);
    CHECK_ERR(memorable_ingest_hume(m, S(" "), S(evi), &report), MEMORABLE_ERROR_INVALID_INPUT);
    CHECK_ERR(memorable_ingest_hume(m, S("call"), "\xff\xfe", 2, &report), MEMORABLE_ERROR_INVALID_UTF8);
    CHECK_ERR(memorable_ingest_hume(m, S("call"), NULL, 3, &report), MEMORABLE_ERROR_NULL_POINTER);
    CHECK_ERR(memorable_ingest_hume(NULL, S("call"), S(evi), &report), MEMORABLE_ERROR_NULL_POINTER);
    CHECK(report == NULL); /* nothing written on failure */
    char *after = NULL;
    CHECK_OK(memorable_emotional_state(m, S("call"), MEMORABLE_TIME_UNSET, &after));
    CHECK(contains(after, "\"readings\":2"));
    memorable_string_free(state);
    memorable_string_free(after);
    memorable_free(m);
    return true;
}

/* memorable_ingest_hume_lines: a two-message session fuses; a bad second line fuses nothing. */
static bool test_ingest_hume_lines(void) {
    memorable *m = NULL;
    CHECK_OK(memorable_open_in_memory(hashing(), &m));
    const char *good = "{\"type\":\"user_message\",\"message\":{\"role\":\"user\",\"content\":\"hi\"},"
                       "\"models\":{\"prosody\":{\"scores\":{\"Joy\":0.8}}},\"time\":{\"begin\":0,\"end\":900}}\n\n"
                       "{\"type\":\"user_message\",\"message\":{\"role\":\"user\",\"content\":\"yes\"},"
                       "\"models\":{\"prosody\":{\"scores\":{\"Joy\":0.6}}},\"time\":{\"begin\":900,\"end\":1800}}\n";
    char *report = NULL;
    CHECK_OK(memorable_ingest_hume_lines(m, S("s"), S(good), &report));
    CHECK(contains(report, "\"messages\":2"));
    memorable_string_free(report);
    const char *bad = "{\"type\":\"user_message\",\"message\":{\"role\":\"user\",\"content\":\"x\"},"
                      "\"models\":{\"prosody\":{\"scores\":{\"Joy\":0.1}}}}\n{not json\n";
    memorable_error *err = memorable_ingest_hume_lines(m, S("s"), S(bad), NULL);
    CHECK(err != NULL && memorable_error_code(err) == MEMORABLE_ERROR_INVALID_INPUT);
    CHECK(contains(memorable_error_message(err), "line 2"));
    memorable_error_free(err);
    char *state = NULL;
    CHECK_OK(memorable_emotional_state(m, S("s"), MEMORABLE_TIME_UNSET, &state));
    CHECK(contains(state, "\"readings\":2"));
    memorable_string_free(state);
    memorable_free(m);
    return true;
}

/* Unix ms of a UTC "YYYY-MM-DDTHH:MM:SSZ" (days from the civil date, no libc time zone). */
static long long utc_ms(const char *s) {
    int y, mo, d, h, mi, sec;
    if (sscanf(s, "%d-%d-%dT%d:%d:%dZ", &y, &mo, &d, &h, &mi, &sec) != 6) return -1;
    y -= mo <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    long long days = era * 146097 + doe - 719468;
    return ((days * 24 + h) * 60 + mi) * 60000LL + sec * 1000LL;
}

/* The timeline of the shared fixture readings is byte-identical to tests/fixtures/timeline.svg
 * (the golden the Rust, Python and Node suites compare with); options arrive as JSON. */
static bool test_timeline_svg(void) {
    char path[4096];
    fixture_path(path, sizeof path, "timeline-readings.jsonl");
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    memorable *m = NULL;
    CHECK_OK(memorable_open_in_memory(hashing(), &m));
    char line[1024];
    jval *parsed[16];
    const char *names[16][64];
    size_t lens[16][64];
    float scores[16][64];
    memorable_reading all[16];
    size_t n = 0;
    while (n < 16 && fgets(line, sizeof line, f)) {
        parsed[n] = j_parse(line);
        CHECK(parsed[n] != NULL);
        all[n] = make_reading(parsed[n], "demo", 0, names[n], lens[n], scores[n]);
        all[n].timestamp_ms = utc_ms(j_str(parsed[n], "timestamp"));
        n++;
    }
    fclose(f);
    CHECK(n == 12);
    CHECK_OK(memorable_observe_batch(m, all, n));
    for (size_t i = 0; i < n; i++) j_free(parsed[i]);

    char *svg = NULL;
    CHECK_OK(memorable_emotion_timeline_svg(m, S("demo"), NULL, &svg));
    fixture_path(path, sizeof path, "timeline.svg");
    f = fopen(path, "rb");
    CHECK(f != NULL);
    static char golden[64 * 1024];
    size_t len = fread(golden, 1, sizeof golden - 1, f);
    fclose(f);
    golden[len] = '\0';
    CHECK(strcmp(svg, golden) == 0);
    memorable_string_free(svg);

    svg = NULL;
    CHECK_OK(memorable_emotion_timeline_svg(
        m, S("demo"), "{\"expressions\": [\"Sadness\"], \"width\": 480, \"height\": 320, \"theme\": \"dark\"}", &svg));
    CHECK(contains(svg, "width=\"480\" height=\"320\"") && contains(svg, "data-expression=\"sadness\""));
    memorable_string_free(svg);

    char *history = NULL;
    CHECK_OK(memorable_emotional_history(m, S("demo"), 0, MEMORABLE_TIME_UNSET, MEMORABLE_TIME_UNSET, &history));
    CHECK(contains(history, "\"source\":\"custom:wearable\""));
    memorable_string_free(history);

    svg = NULL;
    CHECK_ERR(memorable_emotion_timeline_svg(m, S("nobody"), NULL, &svg), MEMORABLE_ERROR_NOT_FOUND);
    CHECK_ERR(memorable_emotion_timeline_svg(m, S("demo"), "{\"top\": 0}", &svg), MEMORABLE_ERROR_INVALID_INPUT);
    CHECK_ERR(memorable_emotion_timeline_svg(m, S("demo"), "{\"colour\": 1}", &svg), MEMORABLE_ERROR_INVALID_INPUT);
    CHECK(svg == NULL);
    memorable_free(m);
    return true;
}

/* memorable_user_context: the id of a user's own context, the user's length in UTF-8 bytes
 * first ("zo\xc3\xab" is 4); bad UTF-8 and NULL outputs are refused. */
static bool test_user_context(void) {
    char *id = NULL;
    CHECK_OK(memorable_user_context(S("alice"), S("s1"), &id));
    CHECK(strcmp(id, "@5:alice/s1") == 0);
    memorable_string_free(id);
    id = NULL;
    CHECK_OK(memorable_user_context(S("zo\xc3\xab"), S("s1"), &id));
    CHECK(strcmp(id, "@4:zo\xc3\xab/s1") == 0);
    memorable_string_free(id);
    id = NULL;
    CHECK_ERR(memorable_user_context("\xff", 1, S("s1"), &id), MEMORABLE_ERROR_INVALID_UTF8);
    CHECK(id == NULL);
    CHECK_ERR(memorable_user_context(S("alice"), S("s1"), NULL), MEMORABLE_ERROR_NULL_POINTER);
    return true;
}

int main(void) {
    bool passed = true;
    if (!make_temp_dir(empty_model_dir, sizeof empty_model_dir)) return 1;
    run_test(test_golden_cases, "test_golden_cases", &passed);
    run_test(test_catalog, "test_catalog", &passed);
    run_test(test_persistence, "test_persistence", &passed);
    run_test(test_bad_input, "test_bad_input", &passed);
    run_test(test_snapshot_on_remember, "test_snapshot_on_remember", &passed);
    run_test(test_ingest_hume, "test_ingest_hume", &passed);
    run_test(test_ingest_hume_lines, "test_ingest_hume_lines", &passed);
    run_test(test_timeline_svg, "test_timeline_svg", &passed);
    run_test(test_user_context, "test_user_context", &passed);
    if (!passed) {
        fprintf(stderr, "test_emotion: FAILED\n");
        return 1;
    }
    remove_dir(empty_model_dir);
    fprintf(stderr, "test_emotion: all passed\n");
    return 0;
}
