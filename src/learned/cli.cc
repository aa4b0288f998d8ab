#include "learned/cli.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include "common/json_writer.h"
#include "learned/comparisons.h"
#include "learned/dataset.h"
#include "learned/evaluation.h"
#include "learned/model_io.h"
#include "learned/report_output.h"
#include "learned/train.h"

namespace hybridgate::learned {
namespace {

constexpr int kBadInput = 2;

struct Options {
  std::string data, out, model, plot, target = "gain";
  bool comparisons = false;  // train/eval: from the quality store instead of --data
  ComparisonQuery query;
  LabelNames labels;
  TrainOptions train;
  int cv = 0;
  int threads = 2;
  bool no_subject = false;
  bool no_chargrams = false;
  double strong_share = -1, target_pgr = -1;
};

// Runs `body`, turning an Error or a stray exception into a message and exit code 2.
template <class Body>
void RunCommand(std::string_view name, int& exit_code, Body&& body) {
  Status s;
  try {
    s = body();
  } catch (const std::exception& e) {
    s = Fail(MakeError(ErrorCode::kInternal, fmt::format("internal error: {}", e.what())));
  }
  if (s) {
    exit_code = 0;
    return;
  }
  std::fprintf(stderr, "router %.*s: error: %s\n", static_cast<int>(name.size()), name.data(),
               s.error().message.c_str());
  exit_code = kBadInput;
}

// --data FILE, or --comparisons with where to read them.
void AddDataFlags(CLI::App& cmd, Options& o, const char* data_help) {
  cmd.add_option("--data", o.data, data_help);
  cmd.add_flag("--comparisons", o.comparisons,
               "Labelled data from the config's comparison store (shadow traffic): weak suffices "
               "where the shadow scored at least as well as the primary");
  cmd.add_option("--config", o.query.config, "With --comparisons: the gateway config");
  cmd.add_option("--route", o.query.route, "With --comparisons: only this route");
  cmd.add_option("--shadow", o.query.shadow,
                 "With --comparisons: only this shadow deployment (provider/model)");
  cmd.add_option("--since", o.query.since,
                 "With --comparisons: only the last N s|m|h|d|w (e.g. 30d)");
}

void AddTrainingFlags(CLI::App& cmd, Options& o) {
  cmd.add_option("--weak", o.labels.weak, "Key of the weak model's score in \"scores\"")
      ->capture_default_str();
  cmd.add_option("--strong", o.labels.strong, "Key of the strong model's score in \"scores\"")
      ->capture_default_str();
  cmd.add_option("--seed", o.train.seed, "Random seed (same seed, same model)")
      ->capture_default_str();
  cmd.add_option("--target", o.target, "What to learn: gain | weak_wrong | only_strong")
      ->capture_default_str();
  auto* adv = &cmd;
  adv->add_option("--epochs", o.train.epochs, "Main model epochs")->capture_default_str();
  adv->add_option("--lr", o.train.learning_rate, "Main model AdaGrad rate")->capture_default_str();
  adv->add_option("--l2", o.train.l2, "Main model L2")->capture_default_str();
  adv->add_option("--bags", o.train.bags, "SGD runs averaged")->capture_default_str();
  adv->add_option("--hash-bits", o.train.hash_bits, "log2 of hashed buckets")
      ->capture_default_str();
  adv->add_option("--subject-bits", o.train.subject_bits, "log2 of subject buckets")
      ->capture_default_str();
  adv->add_option("--subject-epochs", o.train.subject_epochs)->capture_default_str();
  adv->add_option("--subject-lr", o.train.subject_learning_rate)->capture_default_str();
  adv->add_option("--subject-l2", o.train.subject_l2)->capture_default_str();
  adv->add_option(
         "--main-groups", o.train.main_groups,
         "Bit mask of sparse groups in the main model: 1 words, 2 bigrams, 4 char n-grams, "
         "8 option words")
      ->capture_default_str();
  adv->add_option("--gate-min-share", o.train.gate_min_share,
                  "Categories with this share of examples get their own dense head")
      ->capture_default_str();
  adv->add_option("--gated-groups", o.train.gated_groups,
                  "Bit mask of sparse groups copied per gated category")
      ->capture_default_str();
  adv->add_option("--subject-groups", o.train.subject_groups, "Bit mask of subject-model groups")
      ->capture_default_str();
  adv->add_flag("--no-subject", o.no_subject, "Disable the subject model");
  adv->add_flag("--no-chargrams", o.no_chargrams, "Disable character n-grams");
}

Result<TrainOptions> MakeTrainOptions(const Options& o) {
  TrainOptions t = o.train;
  t.labels = o.labels;
  auto target = ParseTarget(o.target);
  if (!target) return Fail(target.error());
  t.target = *target;
  t.subject_model = !o.no_subject;
  if (o.no_chargrams) t.features.char_ngram_min = 0;
  return t;
}

// Labelled data: --data's JSONL, or with --comparisons the quality store's (comparisons.h).
Result<Dataset> LoadTrainingData(const Options& o) {
  if (o.comparisons == !o.data.empty()) {
    return Fail(MakeError(ErrorCode::kInvalidRequest,
                          "need exactly one of --data FILE or --comparisons --config FILE"));
  }
  if (!o.comparisons) return LoadDataset(o.data, o.labels);
  auto examples = LoadComparisonExamples(o.query);
  if (!examples) return Fail(examples.error());
  std::fprintf(stderr, "%s\n", DescribeComparisonExamples(*examples).c_str());
  return std::move(examples->data);
}

Status Train(const Options& o) {
  auto opts = MakeTrainOptions(o);
  if (!opts) return Fail(opts.error());
  auto data = LoadTrainingData(o);
  if (!data) return Fail(data.error());
  const auto start = std::chrono::steady_clock::now();
  auto model = learned::Train(*data, *opts);
  if (!model) return Fail(model.error());
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (Status s = SaveModel(*model, o.out); !s) return s;
  std::fprintf(stderr, "trained on %zu examples in %.1f s; model written to %s\n",
               data->examples.size(), secs, o.out.c_str());
  return {};
}

Status Score(const Options& o) {
  auto model = LoadModel(o.model);
  if (!model) return Fail(model.error());
  auto prompts = LoadPrompts(o.data);
  if (!prompts) return Fail(prompts.error());
  std::string line;
  for (const PromptLine& p : *prompts) {
    line.clear();
    JsonWriter w(line);
    w.BeginObject().Field("id", p.id).Field("score", model->Score(p.prompt)).EndObject();
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stdout);
  }
  return {};
}

Status Eval(const Options& o) {
  if (o.cv == 0 && o.model.empty())
    return Fail(MakeError(ErrorCode::kInvalidRequest, "need --model or --cv K"));
  auto data = LoadTrainingData(o);
  if (!data) return Fail(data.error());
  std::vector<ScoredRouter> routers;
  if (o.cv > 0) {
    auto opts = MakeTrainOptions(o);
    if (!opts) return Fail(opts.error());
    ProgressBar bar(fmt::format("cross-validation ({} folds)", o.cv));
    const auto start = std::chrono::steady_clock::now();
    auto scores = CrossValidatedScores(*data, *opts, o.cv, o.threads,
                                       [&](size_t done, size_t total) { bar.Update(done, total); });
    if (!scores) return Fail(scores.error());
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "%d-fold cross-validation took %.1f s\n", o.cv, secs);
    routers.push_back({fmt::format("learned ({}-fold CV)", o.cv), std::move(*scores)});
  } else {
    auto model = LoadModel(o.model);
    if (!model) return Fail(model.error());
    routers.push_back({"learned", ScoreAll(*model, *data)});
  }
  routers.push_back({"prompt length", LengthScores(*data)});
  auto reports = EvaluateByBenchmark(*data, routers);
  if (!reports) return Fail(reports.error());
  std::fputs(FormatReport(*reports).c_str(), stdout);
  if (!o.plot.empty()) return WriteSvg(*reports, o.plot);
  return {};
}

Status Calibrate(const Options& o) {
  auto model = LoadModel(o.model);
  if (!model) return Fail(model.error());
  Result<Calibration> cal = Fail(MakeError(ErrorCode::kInvalidRequest, "nothing to calibrate"));
  if (o.target_pgr >= 0) {
    auto data = LoadDataset(o.data, o.labels);
    if (!data) return Fail(data.error());
    std::vector<Outcome> outcomes;
    for (const Example& e : data->examples)
      outcomes.push_back({model->Score(e.prompt), e.weak, e.strong});
    cal = ThresholdForPgr(outcomes, o.target_pgr);
  } else {
    auto prompts = LoadPrompts(o.data);
    if (!prompts) return Fail(prompts.error());
    std::vector<double> scores;
    for (const PromptLine& p : *prompts) scores.push_back(model->Score(p.prompt));
    cal = ThresholdForShare(scores, o.strong_share);
  }
  if (!cal) return Fail(cal.error());
  std::string line;
  JsonWriter w(line);
  w.BeginObject().Field("threshold", cal->threshold).Field("strong_share", cal->strong_share);
  if (!std::isnan(cal->pgr)) w.Field("pgr", cal->pgr);
  w.EndObject();
  std::puts(line.c_str());
  return {};
}

}  // namespace

CLI::App* AddRouterCommand(CLI::App& root, int& exit_code) {
  auto o = std::make_shared<Options>();
  CLI::App* router = root.add_subcommand("router", "Learned strong/weak model router");
  router->require_subcommand(1);

  CLI::App* train = router->add_subcommand(
      "train", "Train a router model from labelled JSONL or the comparison store's shadow traffic");
  AddDataFlags(*train, *o, "Training data (JSONL)");
  train->add_option("--out", o->out, "Model file to write")->required();
  AddTrainingFlags(*train, *o);
  train->callback([o, &exit_code] { RunCommand("train", exit_code, [&] { return Train(*o); }); });

  CLI::App* score = router->add_subcommand("score", "Print {\"id\",\"score\"} per prompt");
  score->add_option("--model", o->model, "Model file")->required();
  score->add_option("--data", o->data, "JSONL with id and prompt")->required();
  score->callback([o, &exit_code] { RunCommand("score", exit_code, [&] { return Score(*o); }); });

  CLI::App* eval = router->add_subcommand("eval", "APGR / CPT per benchmark vs baselines");
  eval->add_option("--model", o->model, "Model file (not with --cv)");
  AddDataFlags(*eval, *o, "Labelled JSONL");
  eval->add_option("--plot", o->plot, "Write PGR curves as SVG");
  eval->add_option("--cv", o->cv, "Train K folds (by prompt hash) instead of loading a model")
      ->check(CLI::Range(2, 100));
  eval->add_option("--threads", o->threads, "Folds trained at once")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  AddTrainingFlags(*eval, *o);
  eval->callback([o, &exit_code] { RunCommand("eval", exit_code, [&] { return Eval(*o); }); });

  CLI::App* cal = router->add_subcommand("calibrate", "Threshold for a strong share or PGR");
  cal->add_option("--model", o->model, "Model file")->required();
  cal->add_option("--data", o->data, "JSONL (labelled for --target-pgr)")->required();
  auto* share = cal->add_option("--strong-share", o->strong_share, "Target strong-call share")
                    ->check(CLI::Range(0.0, 1.0));
  auto* pgr =
      cal->add_option("--target-pgr", o->target_pgr, "Target PGR")->check(CLI::Range(0.0, 1.0));
  share->excludes(pgr);
  cal->add_option("--weak", o->labels.weak)->capture_default_str();
  cal->add_option("--strong", o->labels.strong)->capture_default_str();
  cal->callback([o, share, pgr, &exit_code] {
    RunCommand("calibrate", exit_code, [&]() -> Status {
      if (share->count() == 0 && pgr->count() == 0) {
        return Fail(MakeError(ErrorCode::kInvalidRequest, "need --strong-share or --target-pgr"));
      }
      return Calibrate(*o);
    });
  });
  return router;
}

}  // namespace hybridgate::learned
