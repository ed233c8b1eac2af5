// The frame codec on its own: incremental decoding, errors, hostile input.
#include "alme/frame.h"

#include <random>

#include <gtest/gtest.h>

namespace arcella::alme {
namespace {

std::string Body(const Json& v) {
  auto b = Json::to_msgpack(v);
  return std::string(b.begin(), b.end());
}
std::string Prefix(uint32_t n) {
  return std::string{char(n >> 24), char(n >> 16), char(n >> 8), char(n)};
}
void Feed(FrameDecoder& d, const std::string& s) {
  d.Feed(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

TEST(Frame, EncodeIsBigEndianLengthPlusMsgpack) {
  Json msg{{"id", 1}, {"method", "ping"}};
  std::string f = EncodeFrame(msg);
  std::string body = Body(msg);
  EXPECT_EQ(f, Prefix(body.size()) + body);
}

TEST(Frame, DecodesSplitAndBatchedFrames) {
  FrameDecoder d(1024);
  std::string all;
  for (int i = 0; i < 10; ++i) all += EncodeFrame(Json{{"id", i}});
  Json f;
  ErrorCode code;
  std::string msg;
  int got = 0;
  for (char c : all) {  // one byte at a time
    Feed(d, std::string(1, c));
    while (d.Next(&f, &code, &msg) == FrameDecoder::Event::kFrame) {
      EXPECT_EQ(f["id"], got);
      ++got;
    }
  }
  EXPECT_EQ(got, 10);
  EXPECT_EQ(d.buffered(), 0u);
  Feed(d, all);  // all at once
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(d.Next(&f, &code, &msg), FrameDecoder::Event::kFrame);
    EXPECT_EQ(f["id"], i);
  }
  EXPECT_EQ(d.Next(&f, &code, &msg), FrameDecoder::Event::kNone);
}

TEST(Frame, Errors) {
  FrameDecoder d(100);
  Json f;
  ErrorCode code;
  std::string msg;
  Feed(d, Prefix(0));
  ASSERT_EQ(d.Next(&f, &code, &msg), FrameDecoder::Event::kError);
  EXPECT_EQ(code, ErrorCode::kParseError);
  EXPECT_FALSE(d.fatal());
  Feed(d, Prefix(2) + "\x92\x01");  // array cut short
  ASSERT_EQ(d.Next(&f, &code, &msg), FrameDecoder::Event::kError);
  EXPECT_EQ(code, ErrorCode::kParseError);
  EXPECT_NE(msg.find("at byte 2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("stream offset 4"), std::string::npos) << msg;
  Feed(d, Prefix(1) + "\x01");
  ASSERT_EQ(d.Next(&f, &code, &msg), FrameDecoder::Event::kError);
  EXPECT_NE(msg.find("an integer, not a map"), std::string::npos) << msg;
  Feed(d, EncodeFrame(Json{{"ok", true}}));
  ASSERT_EQ(d.Next(&f, &code, &msg), FrameDecoder::Event::kFrame);
  Feed(d, Prefix(101));
  ASSERT_EQ(d.Next(&f, &code, &msg), FrameDecoder::Event::kError);
  EXPECT_EQ(code, ErrorCode::kFrameTooLarge);
  EXPECT_TRUE(d.fatal());
  Feed(d, EncodeFrame(Json{{"ok", true}}));
  EXPECT_EQ(d.Next(&f, &code, &msg), FrameDecoder::Event::kNone);
  EXPECT_EQ(d.buffered(), 0u);
}

TEST(Frame, DeepNestingIsRefusedNotRecursed) {
  std::string body(1 << 20, '\x91');  // a million nested one-element arrays
  body += '\x01';
  Json f;
  std::string err;
  EXPECT_FALSE(
      DecodeFrameBody(reinterpret_cast<const uint8_t*>(body.data()), body.size(), &f, &err));
  EXPECT_NE(err.find("nested deeper"), std::string::npos) << err;
  std::string huge = "\xdd\xff\xff\xff\xff";  // array32 claiming 4G elements
  EXPECT_FALSE(
      DecodeFrameBody(reinterpret_cast<const uint8_t*>(huge.data()), huge.size(), &f, &err));
  std::string intkey = "\x81\x01\x02";  // map with an integer key
  EXPECT_FALSE(
      DecodeFrameBody(reinterpret_cast<const uint8_t*>(intkey.data()), intkey.size(), &f, &err));
}

TEST(Frame, RandomBytesNeverThrow) {
  std::mt19937 rng(42);
  for (int round = 0; round < 2000; ++round) {
    FrameDecoder d(1 << 12);
    std::string s(rng() % 300, '\0');
    for (auto& c : s) c = char(rng());
    if (round % 2) s = Prefix(s.size()) + s;  // mostly well-delimited garbage
    Feed(d, s);
    Json f;
    ErrorCode code;
    std::string msg;
    for (int i = 0; i < 1000; ++i) {
      auto ev = d.Next(&f, &code, &msg);
      if (ev == FrameDecoder::Event::kNone) break;
      if (ev == FrameDecoder::Event::kFrame) {
        EXPECT_TRUE(f.is_object());
      }
      if (ev == FrameDecoder::Event::kError) {
        EXPECT_FALSE(msg.empty());
      }
    }
  }
}

// A frame of many tiny items would cost far more decoded than its size
// (16 bytes or more per nil): it is refused before anything is built.
TEST(Frame, TinyElementsAreRefusedBeforeDecoding) {
  const uint32_t n = 1u << 20;  // 1 MiB of nils
  std::string body = "\x81\xa1x\xdd" + Prefix(n) + std::string(n, '\xc0');
  Json f;
  std::string err;
  EXPECT_FALSE(
      DecodeFrameBody(reinterpret_cast<const uint8_t*>(body.data()), body.size(), &f, &err));
  EXPECT_NE(err.find("decoded"), std::string::npos) << err;
  EXPECT_NE(err.find(std::to_string(n + 3) + " MessagePack items"), std::string::npos) << err;
  FrameScan scan = ScanFrameBody(reinterpret_cast<const uint8_t*>(body.data()), body.size());
  EXPECT_EQ(scan.status, FrameScan::kOk);
  EXPECT_GT(scan.cost, kDecodeBytesPerFrameByte * body.size());
  // The same bytes as one string are cheap and accepted.
  Json big{{"x", std::string(n, 'a')}};
  std::string ok = Body(big);
  ASSERT_TRUE(DecodeFrameBody(reinterpret_cast<const uint8_t*>(ok.data()), ok.size(), &f, &err))
      << err;
  EXPECT_EQ(f, big);
}

// Ordinary requests (small maps, strings, ints, arrays) pass the scan, and
// the scan agrees with the decoder about what is well formed.
TEST(Frame, ScanAcceptsOrdinaryRequests) {
  Json req{{"id", 12345678901ull},
           {"method", "deployment.create"},
           {"params",
            {{"module_id", "m@1.0.0"},
             {"replicas", 3},
             {"ratio", 0.5},
             {"neg", -70000},
             {"bin", Json::binary({1, 2, 3})},
             {"overrides", {{"env", {{"A", std::string(300, 'v')}}}, {"dirs", {"/a", "/b"}}}},
             {"args", Json::array({"1", 2, true, nullptr})}}}};
  std::string body = Body(req);
  FrameScan scan = ScanFrameBody(reinterpret_cast<const uint8_t*>(body.data()), body.size());
  EXPECT_EQ(scan.status, FrameScan::kOk);
  EXPECT_STREQ(scan.root, "a map");
  Json f;
  std::string err;
  ASSERT_TRUE(DecodeFrameBody(reinterpret_cast<const uint8_t*>(body.data()), body.size(), &f, &err))
      << err;
  EXPECT_EQ(f, req);
  for (size_t cut = 0; cut < body.size(); ++cut) {  // every truncation is malformed
    FrameScan s = ScanFrameBody(reinterpret_cast<const uint8_t*>(body.data()), cut);
    EXPECT_EQ(s.status, FrameScan::kMalformed) << cut;
  }
}

}  // namespace
}  // namespace arcella::alme
