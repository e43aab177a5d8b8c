#include "policy/model_slot.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "common/onnx_model_builder.hpp"
#include "policy/model_watcher.hpp"

namespace levee::policy {
namespace {

using std::chrono::milliseconds;

struct ModelFile {
  ModelFile()
      : directory(std::filesystem::temp_directory_path() /
                  ("levee-slot-" + std::to_string(::getpid()) + "-" +
                   std::to_string(reinterpret_cast<std::uintptr_t>(this)))),
        path(directory / "policy.onnx") {
    std::filesystem::create_directories(directory);
  }
  ~ModelFile() { std::filesystem::remove_all(directory); }
  void publish(float threshold) const {
    test::publish(path, test::size_threshold_model(threshold).bytes());
  }
  void write_garbage() const {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << "this is not a model";
  }
  std::filesystem::path directory;
  std::filesystem::path path;
};

// FLUSH minus WAIT for a size feature of 0.5: tells which threshold the live model has.
float margin(const ModelSlot& slot) {
  Observation obs{};
  obs[0] = 0.5F;
  const auto logits = slot.current()->evaluate(obs);
  return logits[1] - logits[0];
}

TEST(ModelSlot, LoadsReloadsOnlyWhenTheFileChangesAndKeepsTheOldModelOnABadOne) {
  ModelFile file;
  file.publish(0.25F);
  ModelSlot slot("r", file.path.string(), milliseconds(5));
  EXPECT_EQ(slot.current(), nullptr);
  EXPECT_EQ(slot.refresh(false), RefreshOutcome::loaded);
  EXPECT_FLOAT_EQ(margin(slot), 0.25F);
  EXPECT_EQ(slot.refresh(false), RefreshOutcome::unchanged);

  const auto before = slot.current();
  file.write_garbage();
  EXPECT_EQ(slot.refresh(false), RefreshOutcome::failed);
  EXPECT_EQ(slot.current(), before);  // the old model stays
  EXPECT_NE(slot.last_error().find(file.path.string()), std::string::npos) << slot.last_error();
  EXPECT_EQ(slot.refresh(false), RefreshOutcome::unchanged);  // the same bad file: no retry

  file.publish(-0.25F);
  EXPECT_EQ(slot.refresh(false), RefreshOutcome::loaded);
  EXPECT_FLOAT_EQ(margin(slot), 0.75F);
  EXPECT_TRUE(slot.last_error().empty());
  EXPECT_EQ(slot.loads(), 2u);
  EXPECT_EQ(slot.failures(), 1u);
  // A decision that started with the old model still holds it.
  Observation obs{};
  obs[0] = 0.5F;
  EXPECT_FLOAT_EQ(before->evaluate(obs)[1] - before->evaluate(obs)[0], 0.25F);
}

TEST(ModelSlot, AModelOfAnotherObservationVersionIsRefusedAndTheOldOneStays) {
  ModelFile file;
  file.publish(0.25F);
  ModelSlot slot("r", file.path.string(), milliseconds(5));
  ASSERT_EQ(slot.refresh(false), RefreshOutcome::loaded);
  const auto before = slot.current();
  // What `make train` wrote before observation version 2: four inputs, no version.
  test::publish(file.path, test::size_threshold_model(0.1F, 4, 0).bytes());
  EXPECT_EQ(slot.refresh(false), RefreshOutcome::failed);
  EXPECT_EQ(slot.current(), before);
  EXPECT_NE(slot.last_error().find("observation version"), std::string::npos) << slot.last_error();
  EXPECT_NE(slot.last_error().find(file.path.string()), std::string::npos) << slot.last_error();
}

TEST(ModelSlot, AMissingFileFailsOnceAndAForcedRefreshReadsAnUnchangedFileAgain) {
  ModelFile file;
  ModelSlot slot("r", file.path.string(), milliseconds(5));
  EXPECT_EQ(slot.refresh(false), RefreshOutcome::failed);
  EXPECT_EQ(slot.refresh(false), RefreshOutcome::unchanged);  // still missing: said once
  EXPECT_EQ(slot.failures(), 1u);
  file.publish(0.1F);
  EXPECT_EQ(slot.refresh(false), RefreshOutcome::loaded);
  EXPECT_EQ(slot.refresh(true), RefreshOutcome::loaded);
  EXPECT_EQ(slot.loads(), 2u);
}

TEST(ModelSlot, AModelSlowerThanTheDecisionDeadlineIsRefused) {
  ModelFile file;
  file.publish(0.1F);
  ModelSlot slot("r", file.path.string(), std::chrono::nanoseconds(1));
  EXPECT_EQ(slot.refresh(false), RefreshOutcome::failed);
  EXPECT_EQ(slot.current(), nullptr);
  EXPECT_NE(slot.last_error().find("decision_deadline"), std::string::npos) << slot.last_error();
}

// Polls `done` until it holds or ten seconds pass (the watcher's own poll is 10 ms here).
template <class Done>
bool eventually(Done done) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(milliseconds(1));
  }
  return true;
}

TEST(ModelWatcher, PicksUpANewFileAndReloadsEveryModelWhenAsked) {
  ModelFile file;
  file.publish(0.25F);
  auto slot = std::make_shared<ModelSlot>("r", file.path.string(), milliseconds(5));
  ASSERT_EQ(slot->refresh(true), RefreshOutcome::loaded);
  ModelWatcher watcher({slot}, milliseconds(10));
  watcher.start();

  file.publish(-0.25F);
  ASSERT_TRUE(eventually([&] { return slot->loads() == 2; }));
  EXPECT_FLOAT_EQ(margin(*slot), 0.75F);

  watcher.reload_all();  // SIGHUP: the unchanged file is read again
  ASSERT_TRUE(eventually([&] { return slot->loads() == 3; }));
  watcher.stop();
  EXPECT_EQ(slot->failures(), 0u);
}

}  // namespace
}  // namespace levee::policy
