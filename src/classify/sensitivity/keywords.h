// Context words looked up lazily, only around a candidate value. Common short words ("call",
// "build", "pt", "dx") fire on ordinary text so often that, as Hyperscan patterns, they cost more
// than looking back from the few values that need them. Internal to the sensitivity library.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace hybridgate::sensitivity {

enum class KeywordSet : uint8_t {
  kPhone,           // phone, tel, mobile, call, fax, contact, ...
  kVersion,         // version, ver, release, build, firmware, rev, revision; also as the last
                    // part of an identifier: cc_version, app_build, appVersion
  kClinical,        // the strong words plus patient(s), pt, condition(s), hx, history of, ...
  kClinicalStrong,  // diagnosis/-es/-ed, dx, ddx, icd, icd10, icd-10, icd(-)10-cm
  kNumberLabel,     // order, invoice, shipment, tracking, serial, imei, iccid, isbn, ...: a
                    // number right after one of these is that, not a payment card
};

// Matches are whole ASCII words ([A-Za-z0-9_] runs), case-insensitive: what `\b(?:…)\b` with
// HS_FLAG_CASELESS matched. Offsets are clamped to the text.
// True when a keyword of `set` ends at an offset in [lo, hi].
bool KeywordEndsIn(std::string_view text, KeywordSet set, std::size_t lo, std::size_t hi);
// True when a keyword of `set` starts at an offset in [lo, hi].
bool KeywordStartsIn(std::string_view text, KeywordSet set, std::size_t lo, std::size_t hi);

// Payment-card context: a word that starts at an offset in [lo, hi) and begins with card,
// credit, debit, visa, mastercard, amex, cvv, cvc, expir(y|ation|es), karte / kredit(karte),
// carte, tarjeta, or is the whole word pan or exp. ASCII case-insensitive; a word starts after a
// non-letter or at a lower-to-upper case change ("userCard"), so identifiers count
// ("card_number", "Kartennummer", "numéro de carte").
bool CardContextIn(std::string_view text, std::size_t lo, std::size_t hi);

// Whether the letters glued to a number are themselves a card context word: the word that ends
// at `end` ("card4111…", "userCard4111…": split at a lower-to-upper change) or starts at `pos`
// ("…1111exp", "…1111CVV"), by CardContextIn's list.
bool CardWordEndsAt(std::string_view text, std::size_t end);
bool CardWordStartsAt(std::string_view text, std::size_t pos);

}  // namespace hybridgate::sensitivity
