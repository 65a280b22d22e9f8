// MemoRable from C++17 through the C API, with a few lines of RAII (not part of the library):
// unique_ptr deleters release handles, results and errors; a failed call throws.
//
//   make -C memorable-c examples && memorable-c/build/quickstart_cpp /tmp/my-store
#include <cstdint>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include <memorable.h>

namespace {

struct Deleter {
    void operator()(memorable *m) const { memorable_free(m); }
    void operator()(memorable_results *r) const { memorable_results_free(r); }
    void operator()(memorable_error *e) const { memorable_error_free(e); }
};
using Handle = std::unique_ptr<memorable, Deleter>;
using Results = std::unique_ptr<memorable_results, Deleter>;

struct Error : std::runtime_error {
    std::uint32_t code;
    Error(std::uint32_t c, const std::string &msg) : std::runtime_error(msg), code(c) {}
};

void check(memorable_error *raw) {
    std::unique_ptr<memorable_error, Deleter> err(raw);
    if (err) throw Error(memorable_error_code(err.get()), memorable_error_message(err.get()));
}

}  // namespace

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "memorable-data";
    try {
        memorable *raw = nullptr;
        check(memorable_open(path, nullptr, &raw));
        Handle m(raw);

        std::string_view user = "alice";
        auto remember = [&](std::string_view text) {
            std::uint64_t id = 0;
            check(memorable_remember(m.get(), user.data(), user.size(), text.data(), text.size(),
                                     nullptr, &id));
            return id;
        };
        std::uint64_t puppy = remember("I adopted a puppy named Biscuit");
        remember("The quarterly report is due on Friday");

        std::string_view query = "what is my puppy called?";
        memorable_results *hits_raw = nullptr;
        check(memorable_recall(m.get(), user.data(), user.size(), query.data(), query.size(),
                               nullptr, &hits_raw));
        Results hits(hits_raw);
        for (std::size_t i = 0; i < memorable_results_len(hits.get()); ++i) {
            std::cout << '#' << memorable_results_id(hits.get(), i) << ' '
                      << memorable_results_score(hits.get(), i) << ' '
                      << memorable_results_text(hits.get(), i) << '\n';
        }
        if (memorable_results_len(hits.get()) == 0 || memorable_results_id(hits.get(), 0) != puppy) {
            std::cerr << "expected the puppy first\n";
            return 1;
        }

        try {
            check(memorable_forget(m.get(), 999999));
        } catch (const Error &e) {
            std::cout << "forget(999999): error " << e.code << " (" << e.what() << ")\n";
        }
        check(memorable_close(m.get()));
    } catch (const Error &e) {
        std::cerr << "memorable error " << e.code << ": " << e.what() << '\n';
        return 1;
    }
    return 0;
}
