/* Tests of the C API that need the MiniLM sentence model in the model cache: the default
 * embedder picks it, and a hashing store migrates to it with memorable_reembed (paused by the
 * progress callback, then resumed). CI fetches the model with scripts/fetch-model.sh; when it
 * is missing these tests FAIL (never skip) and say how to fetch it. */
#include "test.h"

#define FETCH_HINT \
    "MiniLM is not in the model cache: run scripts/fetch-model.sh (it downloads it into " \
    "~/.cache/memorable/models, or $MEMORABLE_MODEL_DIR / $MEMORABLE_HOME/models)"

#define FILLERS 99

static bool test_default_picks_minilm(void) {
    memorable *m = NULL;
    CHECK_OK(memorable_open_in_memory(NULL, &m));
    char *json = NULL;
    CHECK_OK(memorable_selection_report(m, &json));
    bool minilm = contains(json, "\"chosen\":\"minilm\"");
    if (!minilm) fprintf(stderr, "  %s\n  selection report: %s\n", FETCH_HINT, json);
    memorable_string_free(json);
    memorable_free(m);
    CHECK(minilm);
    return true;
}

/* Progress callback state: how many calls, the last (done, total), and whether to pause at
 * the first call. */
typedef struct {
    int calls;
    uint64_t done;
    uint64_t total;
    bool pause_first;
} progress_log;

static bool on_progress(uint64_t done, uint64_t total, void *user_data) {
    progress_log *log = user_data;
    log->calls++;
    log->done = done;
    log->total = total;
    return !(log->pause_first && log->calls == 1);
}

/* Recall `query` in semantic mode and check the best hit is `want`. */
static bool best_semantic_hit(memorable *m, const char *query, uint64_t want) {
    memorable_recall_options o = memorable_recall_options_default();
    o.mode = MEMORABLE_RECALL_SEMANTIC;
    o.limit = 3;
    memorable_results *r = NULL;
    CHECK_OK(memorable_recall(m, S("alice"), S(query), &o, &r));
    bool ok = memorable_results_len(r) > 0 && memorable_results_id(r, 0) == want;
    if (!ok) {
        fprintf(stderr, "  best hit for \"%s\": %s\n", query,
                memorable_results_len(r) ? memorable_results_text(r, 0) : "(none)");
    }
    memorable_results_free(r);
    return ok;
}

static bool reembed_in(const char *dir) {
    memorable *m = NULL;
    CHECK_OK(memorable_open(dir, hashing(), &m));
    uint64_t puppy = 0, id = 0;
    CHECK_OK(memorable_remember(m, S("alice"), S("I adopted a puppy named Biscuit"), NULL, &puppy));
    for (int i = 0; i < FILLERS; i++) {
        char text[96];
        snprintf(text, sizeof text, "Meeting note %d: the budget review moved to room %d", i, 100 + i);
        CHECK_OK(memorable_remember(m, S("alice"), S(text), NULL, &id));
    }

    /* Pause: the callback says stop after the first committed batch. */
    progress_log first = {.pause_first = true};
    char *json = NULL;
    memorable_error *err = memorable_reembed(m, S("minilm"), on_progress, &first, &json);
    if (err != NULL && memorable_error_code(err) == MEMORABLE_ERROR_MODEL) {
        fprintf(stderr, "  %s\n  error: %s\n", FETCH_HINT, memorable_error_message(err));
    }
    CHECK_OK(err);
    unsigned long long paused_count = 0;
    CHECK(contains(json, "\"completed\":false"));
    CHECK(contains(json, "\"previous_model_id\":\"hashing-v1-384\""));
    CHECK(contains(json, "\"model_id\":\"hashing-v1-384\"")); /* still the store's model */
    CHECK(json_u64(json, "reembedded", &paused_count));
    memorable_string_free(json);
    CHECK(first.calls == 1);
    CHECK(first.total == FILLERS + 1);
    CHECK(first.done == paused_count && paused_count > 0);

    /* While paused: the store still uses hashing, stats show the migration, recall works. */
    json = NULL;
    CHECK_OK(memorable_stats(m, &json));
    CHECK(contains(json, "\"reembed\":{\"target_model_id\":\"sentence-transformers/"));
    CHECK(contains(json, "\"chosen\":\"hashing\""));
    memorable_string_free(json);
    memorable_results *r = NULL;
    CHECK_OK(memorable_recall(m, S("alice"), S("puppy Biscuit"), NULL, &r));
    /* Mid-migration the puppy's vector is already MiniLM's, so only BM25 scores it against
       the hashing query: it must be found, though a filler's hashing collision may rank
       above it until the migration finishes. */
    bool found = false;
    for (size_t i = 0; i < memorable_results_len(r); i++) {
        found = found || memorable_results_id(r, i) == puppy;
    }
    CHECK(found);
    memorable_results_free(r);

    /* Resume in a new process's worth of state: close, reopen (auto keeps the store's model). */
    CHECK_OK(memorable_close(m));
    memorable_free(m);
    m = NULL;
    CHECK_OK(memorable_open(dir, hashing(), &m));
    progress_log second = {.pause_first = false};
    json = NULL;
    CHECK_OK(memorable_reembed(m, S("minilm"), on_progress, &second, &json));
    unsigned long long resumed_count = 0;
    CHECK(contains(json, "\"completed\":true"));
    CHECK(contains(json, "\"model_id\":\"sentence-transformers/"));
    CHECK(json_u64(json, "reembedded", &resumed_count));
    memorable_string_free(json);
    CHECK(paused_count + resumed_count == FILLERS + 1);
    if (resumed_count > 0) {
        CHECK(second.calls >= 1);
        CHECK(second.done == FILLERS + 1 && second.total == FILLERS + 1);
    }

    /* The handle now embeds with MiniLM: meaning without shared words. */
    json = NULL;
    CHECK_OK(memorable_selection_report(m, &json));
    CHECK(contains(json, "\"chosen\":\"minilm\""));
    memorable_string_free(json);
    json = NULL;
    CHECK_OK(memorable_stats(m, &json));
    CHECK(contains(json, "\"reembed\":null"));
    memorable_string_free(json);
    CHECK(best_semantic_hit(m, "what is the name of my dog?", puppy));
    CHECK_OK(memorable_remember(m, S("alice"), S("My sister lives in Lisbon"), NULL, &id));
    CHECK(best_semantic_hit(m, "which city is my sibling based in?", id));
    CHECK_OK(memorable_close(m));
    memorable_free(m);

    /* Reopened: "auto" follows the store's vectors (MiniLM); forcing hashing is refused. */
    m = NULL;
    memorable_options forced = {.embedder = "hashing"};
    CHECK_ERR(memorable_open(dir, &forced, &m), MEMORABLE_ERROR_MODEL_MISMATCH);
    CHECK(m == NULL);
    memorable_options automatic = {.embedder = "auto"};
    CHECK_OK(memorable_open(dir, &automatic, &m));
    json = NULL;
    CHECK_OK(memorable_selection_report(m, &json));
    CHECK(contains(json, "\"chosen\":\"minilm\""));
    memorable_string_free(json);
    CHECK(best_semantic_hit(m, "what is the name of my dog?", puppy));
    memorable_free(m);
    return true;
}

static bool test_reembed_hashing_to_minilm(void) {
    char dir[256];
    CHECK(make_temp_dir(dir, sizeof dir));
    bool ok = reembed_in(dir);
    remove_dir(dir);
    return ok;
}

/* The model cache as the core finds it (MEMORABLE_MODEL_DIR, MEMORABLE_HOME/models,
 * XDG_CACHE_HOME/memorable/models, ~/.cache/memorable/models). */
static void model_cache(char *buf, size_t size) {
    const char *v;
    if ((v = getenv("MEMORABLE_MODEL_DIR")) && *v) snprintf(buf, size, "%s", v);
    else if ((v = getenv("MEMORABLE_HOME")) && *v) snprintf(buf, size, "%s/models", v);
    else if ((v = getenv("XDG_CACHE_HOME")) && *v) snprintf(buf, size, "%s/memorable/models", v);
    else snprintf(buf, size, "%s/.cache/memorable/models", getenv("HOME"));
}

/* A model cache of its own holding MiniLM (linked from the real one) in the layout
 * scripts/fetch-model.sh leaves: the registry reads it as version 0.1.0, active. */
static bool registry_in(const char *dir) {
    static const char *files[] = {"config.json", "tokenizer.json", "model.safetensors", "sentence_bert_config.json",
                                  "modules.json", "1_Pooling/config.json", "tokenizer_config.json",
                                  "special_tokens_map.json", "vocab.txt", "config_sentence_transformers.json"};
    char real[512], cache[512], path[1024], from[1024];
    model_cache(real, sizeof real);
    snprintf(cache, sizeof cache, "%s/cache", dir);
    snprintf(path, sizeof path, "%s/cache/minilm/1_Pooling", dir);
    CHECK(mkdir(cache, 0700) == 0);
    snprintf(from, sizeof from, "%s/minilm", cache);
    CHECK(mkdir(from, 0700) == 0 && mkdir(path, 0700) == 0);
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(from, sizeof from, "%s/minilm/%s", real, files[i]);
        snprintf(path, sizeof path, "%s/minilm/%s", cache, files[i]);
        CHECK(symlink(from, path) == 0);
    }

    char *json = NULL;
    CHECK_OK(memorable_models_list(cache, &json));
    CHECK(contains(json, "\"name\":\"minilm\",\"version\":\"0.1.0\""));
    CHECK(contains(json, "\"state\":\"active\""));
    memorable_string_free(json);
    CHECK_ERR(memorable_models_rollback("minilm", cache, NULL), MEMORABLE_ERROR_NO_PREVIOUS_VERSION);
    json = NULL;
    CHECK_OK(memorable_models_update("minilm", NULL, cache, &json));
    CHECK(strcmp(json, "[]") == 0); /* the shipped manifest's version is the one installed */
    memorable_string_free(json);

    char config[1200];
    snprintf(config, sizeof config, "{\"embedder\": \"minilm\", \"generator\": \"none\", \"model_dir\": \"%s\"}", cache);
    memorable_options opts = {.config_json = config};
    memorable *m = NULL;
    CHECK_OK(memorable_open_in_memory(&opts, &m));
    json = NULL;
    CHECK_OK(memorable_stats(m, &json));
    bool in_use = contains(json, "{\"role\":\"embedding\",\"name\":\"minilm\",\"version\":\"0.1.0\"}");
    if (!in_use) fprintf(stderr, "  %s\n  stats: %s\n", FETCH_HINT, json);
    memorable_string_free(json);
    CHECK(in_use);
    CHECK_OK(memorable_reload_models(m));
    json = NULL;
    CHECK_OK(memorable_models_gc(cache, 0, &json));
    CHECK(contains(json, "\"removed\":[]"));
    memorable_string_free(json);
    CHECK_OK(memorable_close(m));
    memorable_free(m);
    return true;
}

static bool test_model_registry(void) {
    char dir[256];
    CHECK(make_temp_dir(dir, sizeof dir));
    bool ok = registry_in(dir);
    remove_dir(dir);
    return ok;
}

int main(void) {
    bool passed = true;
    run_test(test_default_picks_minilm, "test_default_picks_minilm", &passed);
    run_test(test_reembed_hashing_to_minilm, "test_reembed_hashing_to_minilm", &passed);
    run_test(test_model_registry, "test_model_registry", &passed);
    if (!passed) {
        fprintf(stderr, "test_models: FAILED\n");
        return 1;
    }
    fprintf(stderr, "test_models: all passed\n");
    return 0;
}
