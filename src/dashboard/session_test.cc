#include "dashboard/session.h"

#include <gtest/gtest.h>

namespace hybridgate::dashboard {
namespace {

TEST(Session, AValueIsValidForItsKeyUntilItExpires) {
  const std::string nonce = NewNonce();
  ASSERT_EQ(nonce.size(), 32u);
  EXPECT_NE(nonce, NewNonce());
  const std::string v = SessionValue("admin-key", 1000, nonce);
  EXPECT_EQ(SessionNonce(v, "admin-key", 999), nonce);
  EXPECT_FALSE(SessionNonce(v, "admin-key", 1000));  // expired
  EXPECT_FALSE(SessionNonce(v, "other-key", 999));   // another key ends every session
  EXPECT_FALSE(SessionNonce(v, "", 999));
  // A later expiry or another nonce cannot be written by hand: the MAC covers them.
  std::string forged = v;
  forged.replace(0, 4, "9999");
  EXPECT_FALSE(SessionNonce(forged, "admin-key", 999));
  std::string other = v;
  other[6] = other[6] == 'a' ? 'b' : 'a';
  EXPECT_FALSE(SessionNonce(other, "admin-key", 999));
  for (const char* bad : {"", ".", "1000", "1000.", "1000..", "abc.def.ghi", "-5.00.00",
                          "99999999999999999999.x.y"}) {
    EXPECT_FALSE(SessionNonce(bad, "admin-key", 0)) << bad;
  }
  std::string flipped = v;
  flipped.back() = flipped.back() == '0' ? '1' : '0';
  EXPECT_FALSE(SessionNonce(flipped, "admin-key", 999));
}

TEST(Session, CookiesAndForms) {
  EXPECT_EQ(CookieValue("a=1; hg_ui_session=xyz; b=2", "hg_ui_session"), "xyz");
  EXPECT_EQ(CookieValue("hg_ui_session_x=1", "hg_ui_session"), "");
  EXPECT_EQ(CookieValue("", "hg_ui_session"), "");
  EXPECT_EQ(FormValue("key=a%2Bb+c&x=1", "key"), "a+b c");
  EXPECT_EQ(FormValue("x=1&key=", "key"), "");
  EXPECT_EQ(FormValue("keyx=1", "key"), "");
}

}  // namespace
}  // namespace hybridgate::dashboard
