#include "classify/sensitivity/keywords.h"

#include <algorithm>
#include <span>

namespace hybridgate::sensitivity {
namespace {

constexpr std::string_view kPhoneWords[] = {"phone",    "telephone", "tel", "mobile",  "mob",
                                            "cell",     "call",      "fax", "contact", "reach",
                                            "whatsapp", "sms",       "text"};
constexpr std::string_view kVersionWords[] = {"version",  "ver", "release", "build",
                                              "firmware", "rev", "revision"};
constexpr std::string_view kNumberLabelWords[] = {
    "order",  "invoice", "shipment", "tracking", "serial",  "ref",         "reference",
    "ticket", "po",      "sku",      "isbn",     "ean",     "upc",         "gtin",
    "imei",   "iccid",   "meid",     "awb",      "booking", "confirmation"};
constexpr std::string_view kStrongWords[] = {"diagnosis", "diagnoses", "diagnosed", "dx",
                                             "ddx",       "icd",       "icd10"};
// Clinical words besides the strong ones and the phrase "history of".
constexpr std::string_view kClinicalWords[] = {
    "patient",     "patients",      "pt",         "condition", "conditions", "hx",
    "comorbidity", "comorbidities", "assessment", "admitted",  "admission",  "discharge",
    "discharged",  "clinical",      "symptom",    "symptoms",  "chronic"};

bool IsWordByte(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

// `word` equals the lower-case `keyword`, ignoring ASCII case.
bool Is(std::string_view word, std::string_view keyword) {
  if (word.size() != keyword.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i) {
    char c = word[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c | 0x20);
    if (c != keyword[i]) return false;
  }
  return true;
}

bool OneOf(std::string_view word, std::span<const std::string_view> keywords) {
  return std::any_of(keywords.begin(), keywords.end(),
                     [&](std::string_view k) { return Is(word, k); });
}

bool IsWordEnd(std::string_view text, std::size_t pos) {
  return pos > 0 && pos <= text.size() && IsWordByte(text[pos - 1]) &&
         (pos == text.size() || !IsWordByte(text[pos]));
}

bool IsWordStart(std::string_view text, std::size_t pos) {
  return pos < text.size() && IsWordByte(text[pos]) && (pos == 0 || !IsWordByte(text[pos - 1]));
}

std::string_view WordEndingAt(std::string_view text, std::size_t end) {
  std::size_t start = end;
  while (start > 0 && IsWordByte(text[start - 1])) --start;
  return text.substr(start, end - start);
}

std::string_view WordStartingAt(std::string_view text, std::size_t start) {
  std::size_t end = start;
  while (end < text.size() && IsWordByte(text[end])) ++end;
  return text.substr(start, end - start);
}

// The word that ends right before `sep` at text[start - 1], e.g. "icd" in "icd-10".
std::string_view WordBeforeSeparator(std::string_view text, std::size_t start, char sep) {
  if (start < 2 || text[start - 1] != sep || !IsWordByte(text[start - 2])) return {};
  return WordEndingAt(text, start - 1);
}

// "icd-10", "icd10-cm", "icd-10-cm" (ending at `word`, which starts at `start`).
bool IcdCodeSetEndsWith(std::string_view text, std::size_t start, std::string_view word) {
  if (Is(word, "10")) return Is(WordBeforeSeparator(text, start, '-'), "icd");
  if (!Is(word, "cm")) return false;
  std::string_view before = WordBeforeSeparator(text, start, '-');
  if (Is(before, "icd10")) return true;
  return Is(before, "10") && Is(WordBeforeSeparator(text, start - 1 - before.size(), '-'), "icd");
}

// "cc_version", "app_build", "appVersion": an identifier whose last part names a version.
bool IsVersionIdentifier(std::string_view word) {
  if (OneOf(word, kVersionWords)) return true;
  std::size_t underscore = word.rfind('_');
  if (underscore != std::string_view::npos && OneOf(word.substr(underscore + 1), kVersionWords)) {
    return true;
  }
  for (std::size_t k = word.size(); k-- > 1;) {
    if (word[k] >= 'A' && word[k] <= 'Z' && word[k - 1] >= 'a' && word[k - 1] <= 'z') {
      return OneOf(word.substr(k), kVersionWords);
    }
  }
  return false;
}

// One-word keywords of `set` (for kClinical, with the strong ones).
bool IsWordOf(KeywordSet set, std::string_view word) {
  switch (set) {
    case KeywordSet::kPhone:
      return OneOf(word, kPhoneWords);
    case KeywordSet::kVersion:
      return IsVersionIdentifier(word);
    case KeywordSet::kClinical:
      return OneOf(word, kClinicalWords) || OneOf(word, kStrongWords);
    case KeywordSet::kClinicalStrong:
      return OneOf(word, kStrongWords);
    case KeywordSet::kNumberLabel:
      return OneOf(word, kNumberLabelWords);
  }
  return false;
}

bool EndsAt(std::string_view text, KeywordSet set, std::size_t end) {
  std::string_view word = WordEndingAt(text, end);
  std::size_t start = end - word.size();
  if (IsWordOf(set, word)) return true;
  if (set == KeywordSet::kClinical && Is(word, "of") &&
      Is(WordBeforeSeparator(text, start, ' '), "history")) {
    return true;
  }
  return (set == KeywordSet::kClinical || set == KeywordSet::kClinicalStrong) &&
         IcdCodeSetEndsWith(text, start, word);
}

// Every icd-10 spelling starts with the word "icd" or "icd10", keywords themselves, so only
// "history of" needs a look past the word.
bool StartsAt(std::string_view text, KeywordSet set, std::size_t start) {
  std::string_view word = WordStartingAt(text, start);
  if (IsWordOf(set, word)) return true;
  if (set != KeywordSet::kClinical || !Is(word, "history")) return false;
  std::size_t of = start + word.size() + 1;
  return of < text.size() && text[of - 1] == ' ' && Is(WordStartingAt(text, of), "of");
}

bool IsLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsLowerLetter(char c) { return c >= 'a' && c <= 'z'; }
bool IsUpperLetter(char c) { return c >= 'A' && c <= 'Z'; }

// Card context words: prefixes (a longer word counts) and whole words.
constexpr std::string_view kCardStems[] = {"card",   "credit", "debit",  "visa",  "mastercard",
                                           "amex",   "cvv",    "cvc",    "expir", "karte",
                                           "kredit", "carte",  "tarjeta"};
constexpr std::string_view kCardWords[] = {"pan", "exp"};
constexpr std::string_view kCardInitials = "acdekmptv";  // first letters of the two lists

bool CardWordAt(std::string_view text, std::size_t pos) {
  std::size_t end = pos;
  while (end < text.size() && IsLetter(text[end]) &&
         !(end > pos && IsLowerLetter(text[end - 1]) && IsUpperLetter(text[end]))) {
    ++end;
  }
  std::string_view word = text.substr(pos, end - pos);
  for (std::string_view stem : kCardStems) {
    if (word.size() >= stem.size() && Is(word.substr(0, stem.size()), stem)) return true;
  }
  return OneOf(word, kCardWords);
}

}  // namespace

bool CardContextIn(std::string_view text, std::size_t lo, std::size_t hi) {
  hi = std::min(hi, text.size());
  for (std::size_t pos = lo; pos < hi; ++pos) {
    if (kCardInitials.find(static_cast<char>(text[pos] | 0x20)) == std::string_view::npos) {
      continue;  // cheap filter: most bytes start none of the words
    }
    if (!IsLetter(text[pos])) continue;
    const bool starts = pos == 0 || !IsLetter(text[pos - 1]) ||
                        (IsLowerLetter(text[pos - 1]) && IsUpperLetter(text[pos]));
    if (starts && CardWordAt(text, pos)) return true;
  }
  return false;
}

bool CardWordEndsAt(std::string_view text, std::size_t end) {
  std::size_t start = std::min(end, text.size());
  while (start > 0 && IsLetter(text[start - 1]) &&
         !(start < end && IsUpperLetter(text[start]) && IsLowerLetter(text[start - 1]))) {
    --start;
  }
  return start < end && CardWordAt(text, start);
}

bool CardWordStartsAt(std::string_view text, std::size_t pos) {
  return pos < text.size() && IsLetter(text[pos]) && CardWordAt(text, pos);
}

bool KeywordEndsIn(std::string_view text, KeywordSet set, std::size_t lo, std::size_t hi) {
  hi = std::min(hi, text.size());
  for (std::size_t pos = lo; pos <= hi; ++pos) {
    if (IsWordEnd(text, pos) && EndsAt(text, set, pos)) return true;
  }
  return false;
}

bool KeywordStartsIn(std::string_view text, KeywordSet set, std::size_t lo, std::size_t hi) {
  hi = std::min(hi, text.size());
  for (std::size_t pos = lo; pos <= hi; ++pos) {
    if (IsWordStart(text, pos) && StartsAt(text, set, pos)) return true;
  }
  return false;
}

}  // namespace hybridgate::sensitivity
