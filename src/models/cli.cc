#include "models/cli.h"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "engine/model_files.h"
#include "engine/tiny_model.h"
#include "http/client.h"
#include "models/licences.h"

namespace hybridgate::models {

namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

struct Known {
  const char* name;
  const char* url;
  const char* about;
};

// Small instruct models that run on a CPU; the files are the publishers' own GGUF conversions.
constexpr Known kKnown[] = {
    {"qwen2.5-0.5b-instruct",
     "https://huggingface.co/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/main/"
     "qwen2.5-0.5b-instruct-q4_k_m.gguf",
     "Qwen2.5 0.5B Instruct, Q4_K_M, ~0.4 GB"},
    {"qwen2.5-1.5b-instruct",
     "https://huggingface.co/Qwen/Qwen2.5-1.5B-Instruct-GGUF/resolve/main/"
     "qwen2.5-1.5b-instruct-q4_k_m.gguf",
     "Qwen2.5 1.5B Instruct, Q4_K_M, ~1.1 GB"},
    {"smollm2-360m-instruct",
     "https://huggingface.co/HuggingFaceTB/SmolLM2-360M-Instruct-GGUF/resolve/main/"
     "smollm2-360m-instruct-q8_0.gguf",
     "SmolLM2 360M Instruct, Q8_0, ~0.4 GB"},
};

std::string Hex(const unsigned char* d, unsigned n) {
  std::string out;
  for (unsigned i = 0; i < n; ++i) out += fmt::format("{:02x}", d[i]);
  return out;
}

std::string Mib(int64_t bytes) { return fmt::format("{:.1f} MiB", bytes / 1048576.0); }

struct Download {
  std::string url;
  fs::path part;
  bool progress = true;
  int timeout_s = 3600;
  // Results.
  std::string sha256;
  std::string linked_etag;
  int64_t bytes = 0;
};

asio::awaitable<Status> Fetch(asio::io_context& ioc, Download& d) {
  http::ClientPool pool(ioc);
  std::string url = d.url;
  for (int hop = 0; hop < 8; ++hop) {
    auto parsed = boost::urls::parse_uri(url);
    if (!parsed || (parsed->scheme() != "http" && parsed->scheme() != "https")) {
      co_return Fail(
          MakeError(ErrorCode::kInvalidRequest, fmt::format("'{}' is not an http(s) URL", url)));
    }
    const std::string origin =
        fmt::format("{}://{}", parsed->scheme(), parsed->encoded_authority());
    auto ep = http::Endpoint::FromUrl(origin);
    if (!ep) co_return Fail(std::move(ep.error()));
    http::UpstreamRequest req;
    req.method = boost::beast::http::verb::get;
    req.target = std::string(parsed->encoded_resource());
    if (req.target.empty()) req.target = "/";
    req.headers = {{"User-Agent", "hybridgate-models-pull"}, {"Accept", "*/*"}};
    const auto now = http::Clock::now();
    const http::Deadlines deadlines{now + std::chrono::seconds(15),
                                    now + std::chrono::seconds(d.timeout_s)};
    auto opened = co_await pool.Open(*ep, req, deadlines);
    if (!opened) {
      co_return Fail(MakeError(
          ErrorCode::kUpstreamUnavailable,
          fmt::format("cannot download from {}: {}. Without network access, copy a GGUF file "
                      "to this machine and set the local provider's engine.model to its path "
                      "(or put it in the models directory)",
                      ep->display, opened.error().message)));
    }
    http::UpstreamStream& stream = *opened;
    const http::UpstreamResponse& head = stream.head();
    if (head.status >= 300 && head.status < 400 && !head.location.empty()) {
      auto next = boost::urls::parse_uri_reference(head.location);
      if (!next) {
        co_return Fail(MakeError(ErrorCode::kUpstreamUnavailable,
                                 fmt::format("bad redirect location '{}'", head.location)));
      }
      boost::urls::url resolved;
      boost::urls::resolve(*parsed, *next, resolved);
      if (d.linked_etag.empty()) d.linked_etag = head.linked_etag;
      url = std::string(resolved.buffer());
      continue;
    }
    if (head.status != 200) {
      co_return Fail(MakeError(ErrorCode::kUpstreamError,
                               fmt::format("{} answered HTTP {}", url, head.status)));
    }
    if (!head.linked_etag.empty()) d.linked_etag = head.linked_etag;
    std::ofstream out(d.part, std::ios::binary | std::ios::trunc);
    if (!out) {
      co_return Fail(
          MakeError(ErrorCode::kInternal, fmt::format("cannot write '{}'", d.part.string())));
    }
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr);
    const bool tty = d.progress && isatty(STDERR_FILENO);
    const auto start = std::chrono::steady_clock::now();
    auto last = start;
    std::string buf;
    for (;;) {
      buf.clear();
      auto n = co_await stream.Read(buf, deadlines.response);
      if (!n) co_return Fail(std::move(n.error()));
      if (*n == 0) break;
      out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
      EVP_DigestUpdate(md.get(), buf.data(), buf.size());
      d.bytes += static_cast<int64_t>(buf.size());
      const auto now2 = std::chrono::steady_clock::now();
      if (d.progress && now2 - last > std::chrono::milliseconds(tty ? 200 : 5000)) {
        last = now2;
        const double secs = std::chrono::duration<double>(now2 - start).count();
        const std::string total = head.content_length > 0 ? Mib(head.content_length) : "?";
        const double pct = head.content_length > 0 ? 100.0 * d.bytes / head.content_length : 0;
        std::fprintf(stderr, "%s  %s / %s  %5.1f%%  %.1f MiB/s%s", tty ? "\r" : "",
                     Mib(d.bytes).c_str(), total.c_str(), pct, d.bytes / 1048576.0 / secs,
                     tty ? "" : "\n");
      }
    }
    if (tty) std::fputc('\n', stderr);
    out.close();
    if (!out) co_return Fail(MakeError(ErrorCode::kInternal, "write failed (disk full?)"));
    if (head.content_length >= 0 && d.bytes != head.content_length) {
      co_return Fail(MakeError(
          ErrorCode::kUpstreamUnavailable,
          fmt::format("download ended after {} of {} bytes", d.bytes, head.content_length)));
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_DigestFinal_ex(md.get(), digest, &len);
    d.sha256 = Hex(digest, len);
    co_return Status{};
  }
  co_return Fail(MakeError(ErrorCode::kUpstreamUnavailable, "too many redirects"));
}

std::string Unquote(std::string s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

bool IsSha256(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

int Pull(const PullOptions& o) {
  std::string url = o.source;
  for (const Known& k : kKnown) {
    if (o.source == k.name) url = k.url;
  }
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    std::cerr << "models pull: '" << o.source << "' is neither a known model nor a URL; known:";
    for (const Known& k : kKnown) std::cerr << " " << k.name;
    std::cerr << "\n";
    return 2;
  }
  if (!o.sha256.empty() && !IsSha256(o.sha256)) {
    std::cerr << "models pull: --sha256 must be 64 hex digits\n";
    return 2;
  }
  const fs::path dir = o.dir.empty() ? engine::DefaultModelsDir() : o.dir;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    std::cerr << "models pull: cannot create " << dir << ": " << ec.message() << "\n";
    return 1;
  }
  auto slash = url.find_last_of('/');
  std::string file = url.substr(slash + 1);
  if (auto q = file.find('?'); q != std::string::npos) file.resize(q);
  if (file.empty()) file = "model.gguf";
  if (fs::path(file).extension() != ".gguf") file += ".gguf";
  Download d;
  d.url = url;
  d.part = dir / (file + ".part");
  d.progress = o.progress;
  d.timeout_s = o.timeout_s;
  std::cerr << "models pull: " << url << " -> " << (dir / file).string() << "\n";
  asio::io_context ioc;
  Status result = Fail(MakeError(ErrorCode::kInternal, "download did not run"));
  asio::co_spawn(ioc, Fetch(ioc, d), [&](std::exception_ptr e, Status s) {
    result = e ? Fail(MakeError(ErrorCode::kInternal, "download failed")) : std::move(s);
  });
  ioc.run();
  if (!result) {
    fs::remove(d.part, ec);
    std::cerr << "models pull: " << result.error().message << "\n";
    return 1;
  }
  const std::string expected =
      !o.sha256.empty() ? o.sha256
                        : (IsSha256(Unquote(d.linked_etag)) ? Unquote(d.linked_etag) : "");
  if (!expected.empty() && expected != d.sha256) {
    fs::remove(d.part, ec);
    std::cerr << "models pull: sha256 mismatch: expected " << expected << ", got " << d.sha256
              << "; the file was deleted\n";
    return 1;
  }
  fs::rename(d.part, dir / file, ec);
  if (ec) {
    std::cerr << "models pull: cannot rename into place: " << ec.message() << "\n";
    return 1;
  }
  std::cerr << "models pull: " << Mib(d.bytes) << ", sha256 " << d.sha256
            << (expected.empty() ? " (no checksum published to compare with)" : " (verified)")
            << "\n";
  std::cout << (dir / file).string() << "\n";
  return 0;
}

CLI::App* AddModelsCommand(CLI::App& root, int& exit_code) {
  CLI::App* models =
      root.add_subcommand("models", "Model files for the embedded engine, and model licences");
  models->require_subcommand(1);

  auto pull = std::make_shared<PullOptions>();
  CLI::App* p = models->add_subcommand("pull", "Download a GGUF model (a known name or a URL)");
  p->add_option("source", pull->source, "known model name or http(s) URL")->required();
  p->add_option("--dir", pull->dir,
                "models directory (default: $HYBRIDGATE_MODELS or "
                "~/.cache/hybridgate/models)");
  p->add_option("--sha256", pull->sha256, "expected sha256 of the file");
  p->add_option("--timeout-s", pull->timeout_s, "give up after this many seconds")
      ->check(CLI::PositiveNumber);
  p->add_flag("!--no-progress", pull->progress, "no progress bar");
  p->callback([pull, &exit_code] { exit_code = Pull(*pull); });

  auto dir = std::make_shared<std::string>();
  CLI::App* l = models->add_subcommand("list", "Models in the models directory, and known names");
  l->add_option("--dir", *dir, "models directory");
  l->callback([dir, &exit_code] {
    const std::string d = dir->empty() ? engine::DefaultModelsDir() : *dir;
    std::error_code ec;
    std::cout << "models directory: " << d << "\n";
    for (const auto& e : fs::directory_iterator(d, ec)) {
      if (e.path().extension() != ".gguf") continue;
      std::cout << "  " << e.path().filename().string() << "  " << Mib(e.file_size(ec)) << "\n";
    }
    auto resolved = engine::ResolveModel("auto", d);
    if (resolved) {
      std::cout << "model: auto serves " << resolved->path
                << (resolved->placeholder ? " (placeholder, random weights)" : "") << "\n";
    }
    std::cout << "known names for `models pull`:\n";
    for (const Known& k : kKnown) std::cout << "  " << k.name << "  " << k.about << "\n";
    exit_code = 0;
  });

  auto out = std::make_shared<std::string>();
  auto spec = std::make_shared<engine::TinyModelSpec>();
  CLI::App* ph = models->add_subcommand(
      "placeholder", "Write a random-weight llama model (gibberish output; tests and benchmarks)");
  ph->add_option("--out", *out, "output path")->required();
  ph->add_option("--embd", spec->n_embd, "embedding width")->check(CLI::Range(8, 8192));
  ph->add_option("--layers", spec->n_layer, "transformer blocks")->check(CLI::Range(1, 128));
  ph->add_option("--heads", spec->n_head, "attention heads")->check(CLI::Range(1, 128));
  ph->add_option("--ff", spec->n_ff, "feed-forward width")->check(CLI::Range(8, 65536));
  ph->callback([out, spec, &exit_code] {
    spec->vocab_path = engine::PlaceholderVocabPath();
    auto ok = engine::WriteTinyModel(*spec, *out);
    if (!ok) {
      std::cerr << "models placeholder: " << ok.error().message << "\n";
      exit_code = 1;
      return;
    }
    std::cout << *out << "\n";
    exit_code = 0;
  });
  AddLicencesCommand(*models, exit_code);
  return models;
}

}  // namespace hybridgate::models
