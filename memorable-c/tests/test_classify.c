/* Text emotion classification through the C API with the shipped GoEmotions classifier on
 * MiniLM (memorable_classify and the memorable_classification accessors). Needs MiniLM in the
 * model cache: without it these tests FAIL (never skip) and say how to fetch it. The error
 * paths on a hashing store are in test_memorable.c, which also runs under valgrind. */
#include "test.h"

#define FETCH_HINT "MiniLM is not in the model cache: run scripts/fetch-model.sh"

static bool test_classify_reads_emotions(void) {
    memorable *m = NULL;
    memorable_options minilm = {.embedder = "minilm"};
    memorable_error *err = memorable_open_in_memory(&minilm, &m);
    if (err != NULL) fprintf(stderr, "  %s\n  %s\n", FETCH_HINT, memorable_error_message(err));
    CHECK(err == NULL);

    char *json = NULL;
    CHECK_OK(memorable_stats(m, &json));
    CHECK(contains(json, "\"classifier\":{\"available\":true,\"loaded\":false"));
    memorable_string_free(json);

    const char *texts[] = {"Thank you so much for your help, I really appreciate it!", "What time is it?"};
    size_t lens[] = {strlen(texts[0]), strlen(texts[1])};
    memorable_classification *c = NULL;
    CHECK_OK(memorable_classify(m, 2, texts, lens, &c));
    CHECK(memorable_classification_len(c) == 2);
    size_t labels = memorable_classification_label_count(c);
    CHECK(labels == 28);
    size_t gratitude = SIZE_MAX;
    for (size_t l = 0; l < labels; l++) {
        const char *name = memorable_classification_label(c, l);
        CHECK(name != NULL);
        if (strcmp(name, "gratitude") == 0) gratitude = l;
        for (size_t t = 0; t < 2; t++) {
            float p = memorable_classification_score(c, t, l);
            CHECK(p >= 0.0f && p <= 1.0f);
        }
    }
    CHECK(gratitude != SIZE_MAX);
    /* Present labels: most probable first, gratitude among them for the thank-you text. */
    size_t present = memorable_classification_present_len(c, 0);
    CHECK(present >= 1);
    bool has_gratitude = false;
    float previous = 2.0f;
    for (size_t k = 0; k < present; k++) {
        size_t l = memorable_classification_present(c, 0, k);
        CHECK(l < labels);
        float p = memorable_classification_score(c, 0, l);
        CHECK(p <= previous);
        previous = p;
        has_gratitude |= l == gratitude;
    }
    CHECK(has_gratitude);
    /* Out of range: NAN / SIZE_MAX / NULL / 0, never UB. */
    CHECK(isnan(memorable_classification_score(c, 2, 0)));
    CHECK(isnan(memorable_classification_score(c, 0, labels)));
    CHECK(memorable_classification_present(c, 0, present) == SIZE_MAX);
    CHECK(memorable_classification_label(c, labels) == NULL);
    CHECK(memorable_classification_present_len(c, 5) == 0);
    memorable_classification_free(c);
    /* Loaded on the store's own embedder: one pass gives a remembered text's vector and its
     * emotion scores. */
    CHECK_OK(memorable_stats(m, &json));
    CHECK(contains(json, "\"loaded\":true"));
    CHECK(contains(json, "\"shared_pass\":true"));
    memorable_string_free(json);

    json = NULL;
    CHECK_OK(memorable_stats(m, &json));
    CHECK(contains(json, "\"loaded\":true"));
    memorable_string_free(json);

    /* Bad input changes nothing and writes nothing. */
    const char *blank[] = {"fine", "   "};
    size_t blank_lens[] = {4, 3};
    c = NULL;
    CHECK_ERR(memorable_classify(m, 2, blank, blank_lens, &c), MEMORABLE_ERROR_EMPTY_TEXT);
    CHECK(c == NULL);
    const char bad_utf8[] = {'\xff', 'a'};
    const char *bad[] = {bad_utf8};
    size_t bad_lens[] = {2};
    CHECK_ERR(memorable_classify(m, 1, bad, bad_lens, &c), MEMORABLE_ERROR_INVALID_UTF8);
    CHECK(c == NULL);
    memorable_free(m);
    return true;
}

/* The int8 embedder (`minilm-int8`): a store made with it has its own model id, recalls and
 * classifies on it, refuses the f32 model (MODEL_MISMATCH) and reopens with "auto". */
static bool test_minilm_int8_store(void) {
    char dir[256];
    CHECK(make_temp_dir(dir, sizeof dir));
    char store[300];
    snprintf(store, sizeof store, "%s/store", dir);
    memorable *m = NULL;
    memorable_options int8 = {.embedder = "minilm-int8"};
    memorable_error *err = memorable_open(store, &int8, &m);
    if (err != NULL) fprintf(stderr, "  %s\n  %s\n", FETCH_HINT, memorable_error_message(err));
    CHECK(err == NULL);
    uint64_t dog = 0, other = 0;
    CHECK_OK(memorable_remember(m, S("ann"), S("Biscuit the puppy learned to sit"), NULL, &dog));
    CHECK_OK(memorable_remember(m, S("ann"), S("The quarterly report is due on Friday"), NULL, &other));
    memorable_results *r = NULL;
    CHECK_OK(memorable_recall(m, S("ann"), S("what did my dog learn?"), NULL, &r));
    CHECK(memorable_results_len(r) == 2 && memorable_results_id(r, 0) == dog);
    memorable_results_free(r);
    char *json = NULL;
    CHECK_OK(memorable_stats(m, &json));
    CHECK(contains(json, "\"model_id\":\"sentence-transformers/all-MiniLM-L6-v2+int8\""));
    memorable_string_free(json);
    memorable_free(m);
    m = NULL;
    memorable_options f32 = {.embedder = "minilm"};
    CHECK_ERR(memorable_open(store, &f32, &m), MEMORABLE_ERROR_MODEL_MISMATCH);
    CHECK(m == NULL);
    CHECK_OK(memorable_open(store, NULL, &m));
    json = NULL;
    CHECK_OK(memorable_stats(m, &json));
    CHECK(contains(json, "+int8"));
    memorable_string_free(json);
    memorable_free(m);
    remove_dir(dir);
    return true;
}

int main(void) {
    bool passed = true;
    run_test(test_classify_reads_emotions, "test_classify_reads_emotions", &passed);
    run_test(test_minilm_int8_store, "test_minilm_int8_store", &passed);
    if (!passed) {
        fprintf(stderr, "test_classify: FAILED\n");
        return 1;
    }
    fprintf(stderr, "test_classify: all passed\n");
    return 0;
}
