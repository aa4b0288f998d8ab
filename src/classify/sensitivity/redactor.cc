#include "classify/sensitivity/redactor.h"

#include <algorithm>

#include "common/json_writer.h"

namespace hybridgate::sensitivity {

const std::string& Redactor::PlaceholderFor(std::string_view type, std::string_view original) {
  std::string key;
  key.reserve(type.size() + 1 + original.size());
  key.append(type).push_back('\0');
  key.append(original);
  auto [it, inserted] = placeholders_.try_emplace(std::move(key));
  if (!inserted) return it->second;
  std::string name = "<";
  for (char c : type) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    name += alnum ? static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c) : '_';
  }
  name += '_';
  name += std::to_string(++counters_[std::string(type)]);
  name += '>';
  max_placeholder_ = std::max(max_placeholder_, name.size());
  originals_.emplace(name, std::string(original));
  it->second = std::move(name);
  return it->second;
}

std::string Redactor::Redact(std::string_view text, std::span<const Finding> findings,
                             int min_class) {
  std::vector<const Finding*> order;
  order.reserve(findings.size());
  for (const Finding& f : findings) {
    if (f.data_class >= min_class && f.start < f.end && f.end <= text.size()) order.push_back(&f);
  }
  std::stable_sort(order.begin(), order.end(),
                   [](const Finding* a, const Finding* b) { return a->start < b->start; });
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  for (const Finding* f : order) {
    if (f->start < pos) continue;  // overlaps the previous one
    out.append(text.substr(pos, f->start - pos));
    out.append(PlaceholderFor(f->type, text.substr(f->start, f->size())));
    pos = f->end;
  }
  out.append(text.substr(pos));
  return out;
}

std::vector<std::string> Redactor::RedactAll(std::span<const std::string_view> texts,
                                             const Classification& classification, int min_class) {
  std::vector<std::string> out;
  out.reserve(texts.size());
  std::vector<Finding> mine;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    mine.clear();
    for (const Finding& f : classification.findings) {
      if (f.text_index == i) mine.push_back(f);
    }
    out.push_back(Redact(texts[i], mine, min_class));
  }
  return out;
}

bool Redactor::IsPlaceholderPrefix(std::string_view s) const {
  auto it = originals_.lower_bound(s);
  return it != originals_.end() && it->first.size() > s.size() && it->first.starts_with(s);
}

void JsonLexState::Advance(std::string_view text) {
  for (char c : text) {
    if (!in_string) {
      in_string = c == '"';
    } else if (escaped) {
      escaped = false;
    } else if (c == '\\') {
      escaped = true;
    } else if (c == '"') {
      in_string = false;
    }
  }
}

namespace {

// `s` escaped for the inside of a JSON string literal (AppendJsonString without the quotes).
void AppendJsonEscaped(std::string& out, std::string_view s) {
  std::size_t at = out.size();
  AppendJsonString(out, s);
  out.pop_back();
  out.erase(at, 1);
}

}  // namespace

std::size_t Redactor::RestoreInto(std::string_view text, bool final, RestoreContext context,
                                  JsonLexState& lex, std::string& out) const {
  const bool json = context == RestoreContext::kJson;
  // Text the model wrote is copied and, for JSON, lexed; originals are not: their quotes are
  // data, not syntax.
  auto copy = [&](std::string_view s) {
    out.append(s);
    if (json) lex.Advance(s);
  };
  std::size_t i = 0;
  while (true) {
    std::size_t lt = text.find('<', i);
    if (lt == std::string_view::npos || max_placeholder_ == 0) {
      copy(text.substr(i));
      return text.size();
    }
    copy(text.substr(i, lt - i));
    std::string_view reach = text.substr(lt, max_placeholder_);
    std::size_t gt = reach.find('>');
    if (gt != std::string_view::npos) {
      auto it = originals_.find(reach.substr(0, gt + 1));
      if (it != originals_.end()) {
        if (json && lex.in_string) {
          AppendJsonEscaped(out, it->second);
          lex.escaped = false;
        } else {
          out.append(it->second);
        }
        i = lt + gt + 1;
        continue;
      }
    } else if (!final && reach.size() == text.size() - lt && IsPlaceholderPrefix(reach)) {
      return lt;  // may complete in the next chunk
    }
    copy("<");
    i = lt + 1;
  }
}

std::string Redactor::Restore(std::string_view text, RestoreContext context) const {
  std::string out;
  out.reserve(text.size());
  JsonLexState lex;
  RestoreInto(text, true, context, lex, out);
  return out;
}

std::string StreamRestorer::Feed(std::string_view chunk) {
  std::string out;
  if (held_.empty()) {
    std::size_t consumed = redactor_->RestoreInto(chunk, false, context_, lex_, out);
    held_.assign(chunk.substr(consumed));
    return out;
  }
  std::string buffer = std::move(held_);
  buffer.append(chunk);
  std::size_t consumed = redactor_->RestoreInto(buffer, false, context_, lex_, out);
  held_.assign(std::string_view(buffer).substr(consumed));
  return out;
}

void StreamRestorer::Skip(std::string_view chunk) {
  if (context_ == RestoreContext::kJson) lex_.Advance(chunk);
}

std::string StreamRestorer::Finish() {
  std::string out;
  redactor_->RestoreInto(held_, true, context_, lex_, out);
  held_.clear();
  return out;
}

}  // namespace hybridgate::sensitivity
