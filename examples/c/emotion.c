/* Emotion fusion from C: readings from several sources fused per conversation, and the state
 * read back as JSON. Build and run: `make -C memorable-c test-examples` (docs/emotion.md
 * quotes this file). */
#include <stdio.h>
#include <string.h>

#include "memorable.h"

static int fail(memorable_error *err) {
    fprintf(stderr, "error %u: %s\n", memorable_error_code(err), memorable_error_message(err));
    memorable_error_free(err);
    return 1;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "emotion-store";
    memorable_options opts = {.config_json = "{\"embedder\": \"hashing\", \"emotion\": {\"half_life_secs\": 120}}"};
    memorable *m = NULL;
    memorable_error *err = memorable_open(dir, &opts, &m);
    if (err) return fail(err);

    const char *names[] = {"Joy", "Excitement"};
    size_t lens[] = {3, 10};
    float scores[] = {0.62f, 0.41f};
    memorable_reading r = memorable_reading_default();
    r.context = "call-42";
    r.context_len = strlen(r.context);
    r.source = "evi";
    r.source_len = 3;
    r.count = 2;
    r.names = names;
    r.name_lens = lens;
    r.scores = scores;
    if ((err = memorable_observe(m, &r, NULL))) return fail(err);

    char *state = NULL;
    if ((err = memorable_emotional_state(m, "call-42", 7, MEMORABLE_TIME_UNSET, &state))) return fail(err);
    printf("%s\n", strstr(state, "\"dominant\":\"joy\"") ? "dominant: joy" : state);
    memorable_string_free(state);

    scores[0] = 1.5f; /* out of [0, 1]: rejected, nothing changes */
    err = memorable_observe(m, &r, NULL);
    printf("rejected: %u\n", err ? memorable_error_code(err) : 0);
    memorable_error_free(err);
    memorable_free(m);
    return 0;
}
