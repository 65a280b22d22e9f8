/* Custom classifiers through the C API with MiniLM: import examples (all or nothing), train on
 * the calling thread with a progress callback, deploy when it wins, classify with the new
 * labels, keep a candidate, deploy it by hand and roll back to the exact earlier scores, queue
 * and cancel a job. Needs MiniLM in the model cache: without it these tests FAIL (never skip).
 * Each run gets a model cache of its own (the real MiniLM linked in), so the trained versions
 * land in the test's registry. Plain and ASan only (training runs MiniLM over the examples,
 * far too slow under valgrind); the calls that need no model run under valgrind in
 * test_memorable.c (test_classifiers_without_model). */
#include "test.h"

#include <sys/stat.h>

#include "json.h"

#define FETCH_HINT "MiniLM is not in the model cache: run scripts/fetch-model.sh"

/* tests/fixtures of the repository, found from this file's path (the Makefile compiles it by
 * its absolute path). */
static void fixture_path(char *buf, size_t size, const char *name) {
    const char *file = __FILE__; /* .../memorable-c/tests/test_classifiers.c */
    const char *cut = strstr(file, "memorable-c/tests/");
    int prefix = cut ? (int)(cut - file) : 0;
    snprintf(buf, size, "%.*stests/fixtures/%s", prefix, file, name);
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

/* `dir`/models/minilm: symlinks to every file of the cached MiniLM. */
static bool private_cache(const char *dir, char *cache, size_t size) {
    static const char *files[] = {"config.json", "tokenizer.json", "model.safetensors", "sentence_bert_config.json",
                                  "modules.json", "1_Pooling/config.json", "tokenizer_config.json",
                                  "special_tokens_map.json", "vocab.txt", "config_sentence_transformers.json"};
    char real[512], path[1024], from[1024];
    model_cache(real, sizeof real);
    snprintf(from, sizeof from, "%s/minilm/model.safetensors", real);
    if (access(from, R_OK) != 0) fprintf(stderr, "  %s (looked in %s)\n", FETCH_HINT, real);
    CHECK(access(from, R_OK) == 0);
    snprintf(cache, size, "%s/models", dir);
    CHECK(mkdir(cache, 0700) == 0);
    snprintf(path, sizeof path, "%s/minilm", cache);
    CHECK(mkdir(path, 0700) == 0);
    snprintf(path, sizeof path, "%s/minilm/1_Pooling", cache);
    CHECK(mkdir(path, 0700) == 0);
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(from, sizeof from, "%s/minilm/%s", real, files[i]);
        snprintf(path, sizeof path, "%s/minilm/%s", cache, files[i]);
        CHECK(symlink(from, path) == 0);
    }
    return true;
}

/* The phases a progress callback saw, and how many reports. */
typedef struct {
    unsigned reports;
    bool saw_train;
} progress_seen;

static bool on_progress(const char *json, void *user_data) {
    progress_seen *seen = user_data;
    seen->reports++;
    if (contains(json, "\"phase\":\"train\"")) seen->saw_train = true;
    return true;
}

/* Cancels once training starts. */
static bool cancel_in_train(const char *json, void *user_data) {
    (void)user_data;
    return !contains(json, "\"phase\":\"train\"");
}

/* A string member of the JSON object `json`, copied into buf (false when absent). */
static bool json_str(const char *json, const char *path1, const char *path2, char *buf, size_t size) {
    jval *v = j_parse(json);
    const jval *o = path2 ? j_get(v, path1) : v;
    const char *s = j_str(o, path2 ? path2 : path1);
    bool ok = s != NULL;
    if (ok) snprintf(buf, size, "%s", s);
    j_free(v);
    return ok;
}

static const char *TEXTS[] = {"I am absolutely furious with the landlord", "We won! Best day ever, I'm so happy"};

static memorable_error *classify_moods(memorable *m, memorable_classification **out) {
    size_t lens[] = {strlen(TEXTS[0]), strlen(TEXTS[1])};
    return memorable_classify_as(m, 2, TEXTS, lens, S("moods"), NULL, out);
}

/* Whether two classifications hold the same labels and exactly the same scores. */
static bool same_scores(const memorable_classification *a, const memorable_classification *b) {
    size_t n = memorable_classification_len(a), labels = memorable_classification_label_count(a);
    if (n != memorable_classification_len(b) || labels != memorable_classification_label_count(b)) return false;
    for (size_t t = 0; t < n; t++)
        for (size_t l = 0; l < labels; l++)
            if (memorable_classification_score(a, t, l) != memorable_classification_score(b, t, l)) return false;
    return true;
}

static bool scenario(const char *dir) {
    char cache[512];
    if (!private_cache(dir, cache, sizeof cache)) return false;
    char config[1200], store[600], fixture[4096], bad[600];
    snprintf(config, sizeof config,
             "{\"embedder\": \"minilm\", \"generator\": \"none\", \"model_dir\": \"%s\", "
             "\"classifiers\": {\"run_jobs\": false, \"personalize_min_corrections\": 5}}",
             cache);
    snprintf(store, sizeof store, "%s/store", dir);
    memorable_options opts = {.config_json = config};
    memorable *m = NULL;
    CHECK_OK(memorable_open(store, &opts, &m));

    /* Import the fixture: 270 examples, the classifier created with their labels. */
    fixture_path(fixture, sizeof fixture, "emotion_examples.jsonl");
    char *json = NULL;
    CHECK_OK(memorable_import_examples(m, S("moods"), fixture, &json));
    CHECK(contains(json, "\"added\":270") && contains(json, "\"created\":true"));
    memorable_string_free(json);
    json = NULL;
    CHECK_OK(memorable_classifier(m, S("moods"), &json));
    CHECK(contains(json, "\"labels\":[\"anger\",\"joy\",\"sadness\"]"));
    CHECK(contains(json, "\"deployed\":null"));
    memorable_string_free(json);
    char *before = NULL;
    CHECK_OK(memorable_example_stats(m, S("moods"), &before));
    CHECK(contains(before, "\"total\":270"));

    /* A bad import (unknown label on line 2) fails naming the line and changes nothing. */
    snprintf(bad, sizeof bad, "%s/bad.jsonl", dir);
    FILE *f = fopen(bad, "w");
    CHECK(f != NULL);
    fputs("{\"text\": \"a brand new happy text\", \"labels\": [\"joy\"]}\n"
          "{\"text\": \"x\", \"labels\": [\"fear\"]}\n",
          f);
    fclose(f);
    json = NULL;
    memorable_error *err = memorable_import_examples(m, S("moods"), bad, &json);
    CHECK(err != NULL && memorable_error_code(err) == MEMORABLE_ERROR_INVALID_INPUT);
    CHECK(strstr(memorable_error_message(err), "line 2") != NULL);
    memorable_error_free(err);
    CHECK(json == NULL);
    char *after = NULL;
    CHECK_OK(memorable_example_stats(m, S("moods"), &after));
    CHECK(strcmp(before, after) == 0);
    memorable_string_free(before);
    memorable_string_free(after);

    /* Train on this thread with progress; nothing was deployed, so the new model is. */
    progress_seen seen = {0};
    json = NULL;
    CHECK_OK(memorable_train_and_wait(m, S("moods"), "{\"threads\": 2}", on_progress, &seen, &json));
    CHECK(contains(json, "\"state\":\"succeeded\""));
    CHECK(contains(json, "\"deployed\":true"));
    CHECK(seen.reports > 0 && seen.saw_train);
    char v1[128];
    CHECK(json_str(json, "result", "version", v1, sizeof v1));
    memorable_string_free(json);

    memorable_classification *got = NULL;
    CHECK_OK(classify_moods(m, &got));
    CHECK(memorable_classification_len(got) == 2 && memorable_classification_label_count(got) == 3);
    size_t top = memorable_classification_present(got, 0, 0);
    CHECK(top != SIZE_MAX && strcmp(memorable_classification_label(got, top), "anger") == 0);

    /* A second model kept as a candidate (deploy "never"), deployed by hand; rollback gives
     * the first model's exact scores back. */
    json = NULL;
    CHECK_OK(memorable_train_and_wait(m, S("moods"), "{\"threads\": 2, \"seed\": 7, \"epochs\": 3, \"deploy\": \"never\"}",
                                      NULL, NULL, &json));
    CHECK(contains(json, "\"state\":\"succeeded\"") && contains(json, "\"deployed\":false"));
    char v2[128];
    CHECK(json_str(json, "result", "version", v2, sizeof v2));
    memorable_string_free(json);
    json = NULL;
    CHECK_OK(memorable_deploy_classifier(m, S("moods"), NULL, &json));
    char deployed[128];
    CHECK(json_str(json, "version", NULL, deployed, sizeof deployed) && strcmp(deployed, v2) == 0);
    memorable_string_free(json);
    memorable_classification *with_v2 = NULL;
    CHECK_OK(classify_moods(m, &with_v2));
    CHECK(!same_scores(got, with_v2));
    memorable_classification_free(with_v2);
    json = NULL;
    CHECK_OK(memorable_rollback_classifier(m, S("moods"), &json));
    CHECK(json_str(json, "version", NULL, deployed, sizeof deployed) && strcmp(deployed, v1) == 0);
    memorable_string_free(json);
    memorable_classification *again = NULL;
    CHECK_OK(classify_moods(m, &again));
    CHECK(same_scores(got, again));
    memorable_classification_free(again);
    memorable_classification_free(got);

    /* Queued (no worker in this store), then cancelled. */
    uint64_t queued = 0;
    CHECK_OK(memorable_train(m, S("moods"), "{\"threads\": 2}", &queued));
    json = NULL;
    CHECK_OK(memorable_job(m, queued, &json));
    CHECK(contains(json, "\"state\":\"queued\""));
    memorable_string_free(json);
    json = NULL;
    CHECK_OK(memorable_cancel_job(m, queued, &json));
    CHECK(contains(json, "\"state\":\"cancelled\""));
    memorable_string_free(json);

    /* Paused while queued, resumed, run here and cancelled by the callback: what is deployed
     * stays. */
    uint64_t later = 0;
    CHECK_OK(memorable_train(m, S("moods"), NULL, &later));
    json = NULL;
    CHECK_OK(memorable_pause_job(m, later, &json));
    CHECK(contains(json, "\"state\":\"paused\""));
    memorable_string_free(json);
    CHECK_OK(memorable_resume_job(m, later, NULL));
    json = NULL;
    CHECK_OK(memorable_run_job(m, later, cancel_in_train, NULL, &json));
    CHECK(contains(json, "\"state\":\"cancelled\""));
    memorable_string_free(json);
    json = NULL;
    CHECK_OK(memorable_classifier(m, S("moods"), &json));
    char now[128];
    CHECK(json_str(json, "deployed", NULL, now, sizeof now) && strcmp(now, v1) == 0);
    memorable_string_free(json);

    /* Unknown classifier, bad options. */
    memorable_classification *c = NULL;
    size_t xlen = 1;
    const char *x[] = {"x"};
    CHECK_ERR(memorable_classify_as(m, 1, x, &xlen, S("nope"), NULL, &c), MEMORABLE_ERROR_NOT_FOUND);
    CHECK(c == NULL);
    uint64_t id = 0;
    CHECK_ERR(memorable_train(m, S("moods"), "{\"bogus\": 1}", &id), MEMORABLE_ERROR_INVALID_INPUT);
    CHECK_ERR(memorable_train(m, S("moods"), "{\"eval_fraction\": 0.9}", &id), MEMORABLE_ERROR_INVALID_INPUT);
    CHECK_ERR(memorable_train(m, S("moods"), "not json", &id), MEMORABLE_ERROR_INVALID_INPUT);
    CHECK(id == 0);

    CHECK_OK(memorable_close(m));
    memorable_free(m);
    return true;
}

static bool test_train_deploy_classify_rollback(void) {
    char dir[256];
    CHECK(make_temp_dir(dir, sizeof dir));
    bool ok = scenario(dir);
    remove_dir(dir);
    return ok;
}

int main(void) {
    bool passed = true;
    run_test(test_train_deploy_classify_rollback, "test_train_deploy_classify_rollback", &passed);
    if (!passed) {
        fprintf(stderr, "test_classifiers: FAILED\n");
        return 1;
    }
    fprintf(stderr, "test_classifiers: all passed\n");
    return 0;
}
