/* Operations through the C API: metrics (JSON, Prometheus), health, alert callbacks with user
 * data, backup / verify / restore (and a damaged backup refused with nothing written),
 * per-user point-in-time restore, and their error paths. Hashing stores (see test.h). */
#include "test.h"

#include <sys/stat.h>
#include <time.h>

/* Alerts evaluated on demand only, one rule: any failed call. */
static const memorable_options *alerting(void) {
    static const memorable_options opts = {
        .config_json = "{\"embedder\": \"hashing\", \"alerts\": {\"enabled\": false, \"rules\": "
                       "[{\"name\": \"errs\", \"metric\": \"errors\", \"above\": 0}]}}"};
    return &opts;
}

typedef struct {
    int firing;
    int resolved;
    char last_rule[64];
} alert_log;

static void on_alert(const char *event_json, size_t len, void *user_data) {
    alert_log *log = user_data;
    if (strlen(event_json) != len) return;
    if (contains(event_json, "\"state\":\"firing\"")) log->firing++;
    if (contains(event_json, "\"state\":\"resolved\"")) log->resolved++;
    const char *rule = strstr(event_json, "\"rule\":\"");
    if (rule) snprintf(log->last_rule, sizeof log->last_rule, "%.4s", rule + 8);
}

static bool test_metrics_and_health(void) {
    memorable *m = NULL;
    CHECK_OK(memorable_open_in_memory(hashing(), &m));
    uint64_t id = 0;
    CHECK_OK(memorable_remember(m, S("alice"), S("I adopted a puppy named Biscuit"), NULL, &id));
    CHECK_OK(memorable_remember(m, S("bob"), S("The report is due on Friday"), NULL, &id));
    memorable_results *r = NULL;
    CHECK_OK(memorable_recall(m, S("alice"), S("puppy"), NULL, &r));
    memorable_results_free(r);
    CHECK_ERR(memorable_get(m, 999, &r), MEMORABLE_ERROR_NOT_FOUND);

    char *json = NULL;
    CHECK_OK(memorable_metrics(m, &json));
    unsigned long long n = 0;
    CHECK(json_u64(json, "memories_written", &n) && n == 2);
    CHECK(json_u64(json, "recalls", &n) && n == 1);
    CHECK(contains(json, "\"NOT_FOUND\":1"));
    memorable_string_free(json);

    char *text = NULL;
    CHECK_OK(memorable_metrics_prometheus(m, &text));
    CHECK(contains(text, "# TYPE memorable_recall_duration_seconds summary\n"));
    CHECK(contains(text, "\nmemorable_recalls_total 1\n"));
    CHECK(contains(text, "memorable_errors_total{code=\"NOT_FOUND\"} 1\n"));
    memorable_string_free(text);

    CHECK_OK(memorable_health(m, &json));
    CHECK(contains(json, "\"status\":\"ok\""));
    CHECK(contains(json, "\"name\":\"store\""));
    memorable_string_free(json);

    CHECK_ERR(memorable_metrics(m, NULL), MEMORABLE_ERROR_NULL_POINTER);
    CHECK_ERR(memorable_health(NULL, &json), MEMORABLE_ERROR_NULL_POINTER);
    memorable_free(m);
    return true;
}

static bool test_alert_callbacks(void) {
    memorable *m = NULL;
    CHECK_OK(memorable_open_in_memory(alerting(), &m));
    alert_log log = {0};
    uint64_t sub = 0;
    CHECK_OK(memorable_on_alert(m, on_alert, &log, &sub));
    CHECK(sub > 0);
    uint64_t id = 0;
    CHECK_ERR(memorable_remember(m, S("alice"), S("   "), NULL, &id), MEMORABLE_ERROR_EMPTY_TEXT);
    char *events = NULL;
    CHECK_OK(memorable_evaluate_alerts(m, &events));
    CHECK(contains(events, "\"state\":\"firing\""));
    memorable_string_free(events);
    CHECK(log.firing == 1 && log.resolved == 0);
    CHECK(strcmp(log.last_rule, "errs") == 0);
    /* Still failing: no second event. Then a clean window: resolved, once. */
    CHECK_ERR(memorable_remember(m, S("alice"), S(""), NULL, &id), MEMORABLE_ERROR_EMPTY_TEXT);
    CHECK_OK(memorable_evaluate_alerts(m, NULL));
    CHECK(log.firing == 1);
    CHECK_OK(memorable_evaluate_alerts(m, NULL));
    CHECK(log.firing == 1 && log.resolved == 1);
    bool removed = false;
    CHECK_OK(memorable_remove_alert_callback(m, sub, &removed));
    CHECK(removed);
    CHECK_OK(memorable_remove_alert_callback(m, sub, &removed));
    CHECK(!removed);
    CHECK_ERR(memorable_remember(m, S("alice"), S(""), NULL, &id), MEMORABLE_ERROR_EMPTY_TEXT);
    CHECK_OK(memorable_evaluate_alerts(m, NULL));
    CHECK(log.firing == 1);
    CHECK_ERR(memorable_on_alert(m, NULL, &log, &sub), MEMORABLE_ERROR_NULL_POINTER);
    CHECK_ERR(memorable_on_alert(m, on_alert, &log, NULL), MEMORABLE_ERROR_NULL_POINTER);
    memorable_free(m);
    return true;
}

static bool test_alert_rules(void) {
    memorable *m = NULL;
    CHECK_OK(memorable_open_in_memory(alerting(), &m));
    char *rules = NULL;
    CHECK_OK(memorable_alert_rules(m, &rules));
    CHECK(contains(rules, "\"name\":\"errs\""));
    memorable_string_free(rules);
    CHECK_OK(memorable_set_alert_rules(m, "[{\"name\": \"disk\", \"metric\": \"disk_free_mb\", \"below\": 1}]"));
    CHECK_OK(memorable_alert_rules(m, &rules));
    CHECK(contains(rules, "\"name\":\"disk\"") && !contains(rules, "errs"));
    memorable_string_free(rules);
    /* Invalid rules change nothing. */
    CHECK_ERR(memorable_set_alert_rules(m, "[{\"name\": \"x\", \"metric\": \"errors\"}]"), MEMORABLE_ERROR_INVALID_CONFIG);
    CHECK_ERR(memorable_set_alert_rules(m, "not json"), MEMORABLE_ERROR_INVALID_INPUT);
    CHECK_ERR(memorable_set_alert_rules(m, NULL), MEMORABLE_ERROR_NULL_POINTER);
    CHECK_ERR(memorable_alert_rules(m, NULL), MEMORABLE_ERROR_NULL_POINTER);
    CHECK_OK(memorable_alert_rules(m, &rules));
    CHECK(contains(rules, "\"name\":\"disk\""));
    memorable_string_free(rules);
    memorable_free(m);
    return true;
}

static bool exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static bool test_backup_verify_restore(void) {
    char dir[256], store[300], file[300], restored[300], bad[300], nope[300];
    CHECK(make_temp_dir(dir, sizeof dir));
    snprintf(store, sizeof store, "%s/store", dir);
    snprintf(file, sizeof file, "%s/b.mrbak", dir);
    snprintf(restored, sizeof restored, "%s/restored", dir);
    snprintf(bad, sizeof bad, "%s/bad.mrbak", dir);
    snprintf(nope, sizeof nope, "%s/nope", dir);

    memorable *m = NULL;
    CHECK_OK(memorable_open(store, hashing(), &m));
    uint64_t id = 0;
    CHECK_OK(memorable_remember(m, S("alice"), S("I adopted a puppy named Biscuit"), NULL, &id));
    char *report = NULL;
    CHECK_OK(memorable_backup(m, file, &report));
    unsigned long long n = 0;
    CHECK(json_u64(report, "memories", &n) && n == 1);
    memorable_string_free(report);
    CHECK_ERR(memorable_backup(m, file, NULL), MEMORABLE_ERROR_DESTINATION_EXISTS);

    bool sound = false;
    CHECK_OK(memorable_verify(file, &sound, &report));
    CHECK(sound);
    CHECK(contains(report, "\"kind\":\"backup\""));
    memorable_string_free(report);
    CHECK_OK(memorable_verify(store, &sound, NULL));
    CHECK(sound);

    CHECK_OK(memorable_restore(file, restored, &report));
    CHECK(json_u64(report, "memories", &n) && n == 1);
    memorable_string_free(report);
    CHECK_ERR(memorable_restore(file, store, NULL), MEMORABLE_ERROR_DESTINATION_EXISTS);
    memorable *r = NULL;
    CHECK_OK(memorable_open(restored, hashing(), &r));
    memorable_results *res = NULL;
    CHECK_OK(memorable_get(r, id, &res));
    CHECK(strcmp(memorable_results_text(res, 0), "I adopted a puppy named Biscuit") == 0);
    memorable_results_free(res);
    memorable_free(r);

    /* A flipped byte: unsound, refused, nothing written. */
    FILE *in = fopen(file, "rb");
    CHECK(in != NULL);
    fseek(in, 0, SEEK_END);
    long size = ftell(in);
    fseek(in, 0, SEEK_SET);
    unsigned char *bytes = malloc((size_t)size);
    CHECK(bytes != NULL);
    CHECK(fread(bytes, 1, (size_t)size, in) == (size_t)size);
    fclose(in);
    bytes[size / 2] ^= 0x10;
    FILE *out = fopen(bad, "wb");
    CHECK(out != NULL);
    CHECK(fwrite(bytes, 1, (size_t)size, out) == (size_t)size);
    fclose(out);
    free(bytes);
    CHECK_OK(memorable_verify(bad, &sound, &report));
    CHECK(!sound);
    CHECK(contains(report, "\"ok\":false"));
    memorable_string_free(report);
    CHECK_ERR(memorable_restore(bad, nope, NULL), MEMORABLE_ERROR_CORRUPT);
    CHECK(!exists(nope));

    CHECK_ERR(memorable_verify(NULL, &sound, NULL), MEMORABLE_ERROR_NULL_POINTER);
    CHECK_ERR(memorable_verify(file, NULL, NULL), MEMORABLE_ERROR_NULL_POINTER);
    CHECK_ERR(memorable_restore(file, NULL, NULL), MEMORABLE_ERROR_NULL_POINTER);
    memorable_free(m);
    remove_dir(dir);
    return true;
}

/* Encryption at rest: the key in config_json; a missing or wrong key is WRONG_KEY; backups
 * verify and restore with the key; rekey rotates it. */
static bool test_encryption(void) {
    char dir[256], store[300], file[300], restored[300];
    CHECK(make_temp_dir(dir, sizeof dir));
    snprintf(store, sizeof store, "%s/store", dir);
    snprintf(file, sizeof file, "%s/b.mrbak", dir);
    snprintf(restored, sizeof restored, "%s/restored", dir);
    const memorable_options keyed = {.config_json = "{\"embedder\": \"hashing\", \"encryption_key\": \"k1\"}"};
    const memorable_options other = {.config_json = "{\"embedder\": \"hashing\", \"encryption_key\": \"k2\"}"};

    memorable *m = NULL;
    CHECK_OK(memorable_open(store, &keyed, &m));
    uint64_t id = 0;
    CHECK_OK(memorable_remember(m, S("alice"), S("my secret is Zyxwortle"), NULL, &id));
    CHECK_OK(memorable_backup(m, file, NULL));
    CHECK_OK(memorable_close(m));
    memorable_free(m);

    memorable *w = NULL;
    CHECK_ERR(memorable_open(store, hashing(), &w), MEMORABLE_ERROR_WRONG_KEY);
    CHECK_ERR(memorable_open(store, &other, &w), MEMORABLE_ERROR_WRONG_KEY);
    bool sound = false;
    CHECK_ERR(memorable_verify_with_key(file, "k2", &sound, NULL), MEMORABLE_ERROR_WRONG_KEY);
    CHECK_OK(memorable_verify_with_key(file, "k1", &sound, NULL));
    CHECK(sound);
    CHECK_OK(memorable_restore_with_key(file, restored, "k1", NULL));

    CHECK_ERR(memorable_rekey(store, "k2", "k3"), MEMORABLE_ERROR_WRONG_KEY);
    CHECK_OK(memorable_rekey(store, "k1", "k2"));
    CHECK_ERR(memorable_open(store, &keyed, &w), MEMORABLE_ERROR_WRONG_KEY);
    CHECK_OK(memorable_open(store, &other, &m));
    memorable_results *res = NULL;
    CHECK_OK(memorable_get(m, id, &res));
    CHECK(strcmp(memorable_results_text(res, 0), "my secret is Zyxwortle") == 0);
    memorable_results_free(res);
    memorable_free(m);
    /* The restored copy keeps the key the backup was taken with. */
    CHECK_OK(memorable_open(restored, &keyed, &m));
    memorable_free(m);
    CHECK_ERR(memorable_rekey(NULL, "a", "b"), MEMORABLE_ERROR_NULL_POINTER);
    CHECK_ERR(memorable_rekey(store, "k2", ""), MEMORABLE_ERROR_INVALID_CONFIG);
    remove_dir(dir);
    return true;
}

static bool test_restore_user(void) {
    memorable *m = NULL;
    CHECK_OK(memorable_open_in_memory(hashing(), &m));
    uint64_t a = 0, b = 0, later = 0;
    CHECK_OK(memorable_remember(m, S("alice"), S("I adopted a puppy named Biscuit"), NULL, &a));
    CHECK_OK(memorable_remember(m, S("bob"), S("My cat hates the vacuum"), NULL, &b));
    memorable_results *r = NULL;
    CHECK_OK(memorable_get(m, a, &r));
    int64_t at = memorable_results_created_at_ms(r, 0) + 5;
    memorable_results_free(r);
    struct timespec pause = {.tv_sec = 0, .tv_nsec = 30 * 1000 * 1000};
    nanosleep(&pause, NULL);
    CHECK_OK(memorable_update(m, a, S("Biscuit is a grown dog now")));
    CHECK_OK(memorable_update(m, b, S("My cat made peace with the vacuum")));
    CHECK_OK(memorable_remember(m, S("alice"), S("I started learning the cello"), NULL, &later));

    char *report = NULL;
    CHECK_OK(memorable_restore_user(m, S("alice"), at, &report));
    CHECK(contains(report, "\"removed\":["));
    memorable_string_free(report);
    CHECK_OK(memorable_get(m, a, &r));
    CHECK(strcmp(memorable_results_text(r, 0), "I adopted a puppy named Biscuit") == 0);
    memorable_results_free(r);
    CHECK_ERR(memorable_get(m, later, &r), MEMORABLE_ERROR_NOT_FOUND);
    CHECK_OK(memorable_get(m, b, &r));
    CHECK(strcmp(memorable_results_text(r, 0), "My cat made peace with the vacuum") == 0);
    memorable_results_free(r);
    CHECK_ERR(memorable_restore_user(m, S(" "), at, NULL), MEMORABLE_ERROR_MISSING_USER);
    memorable_free(m);
    return true;
}

/* memorable_export_user then memorable_import_jsonl into another store: the memories come
 * across; an existing export file is never overwritten. */
static bool test_export_import(void) {
    char dir[256], a[300], b[300], file[300];
    CHECK(make_temp_dir(dir, sizeof dir));
    snprintf(a, sizeof a, "%s/a", dir);
    snprintf(b, sizeof b, "%s/b", dir);
    snprintf(file, sizeof file, "%s/alice.jsonl", dir);
    memorable *m = NULL;
    CHECK_OK(memorable_open(a, hashing(), &m));
    uint64_t id = 0, n = 0;
    CHECK_OK(memorable_remember(m, S("alice"), S("I adopted a puppy named Biscuit"), NULL, &id));
    CHECK_OK(memorable_remember(m, S("alice"), S("My sister lives in Lyon"), NULL, &id));
    CHECK_OK(memorable_export_user(m, "alice", file, false, &n));
    CHECK(n == 2);
    CHECK_ERR(memorable_export_user(m, "alice", file, false, NULL), MEMORABLE_ERROR_DESTINATION_EXISTS);
    memorable_free(m);

    memorable *other = NULL;
    CHECK_OK(memorable_open(b, hashing(), &other));
    char *report = NULL;
    CHECK_OK(memorable_import_jsonl(other, file, 0, &report));
    unsigned long long imported = 0;
    CHECK(json_u64(report, "imported", &imported) && imported == 2);
    memorable_string_free(report);
    memorable_results *r = NULL;
    CHECK_OK(memorable_recall(other, S("alice"), S("puppy Biscuit"), NULL, &r));
    CHECK(memorable_results_len(r) > 0 && strstr(memorable_results_text(r, 0), "Biscuit") != NULL);
    memorable_results_free(r);
    memorable_free(other);
    remove_dir(dir);
    return true;
}

int main(void) {
    bool passed = true;
    run_test(test_metrics_and_health, "test_metrics_and_health", &passed);
    run_test(test_alert_callbacks, "test_alert_callbacks", &passed);
    run_test(test_alert_rules, "test_alert_rules", &passed);
    run_test(test_backup_verify_restore, "test_backup_verify_restore", &passed);
    run_test(test_restore_user, "test_restore_user", &passed);
    run_test(test_encryption, "test_encryption", &passed);
    run_test(test_export_import, "test_export_import", &passed);
    if (!passed) {
        fprintf(stderr, "test_ops: FAILED\n");
        return 1;
    }
    fprintf(stderr, "test_ops: all passed\n");
    return 0;
}
