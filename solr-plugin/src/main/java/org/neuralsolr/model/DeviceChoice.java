package org.neuralsolr.model;

/**
 * The device a model runs on, decided from what was asked for and what the engine reports. Kept
 * free of DJL so the decision can be tested against any engine report.
 */
final class DeviceChoice {
  final boolean gpu;
  final String reason;

  private DeviceChoice(boolean gpu, String reason) {
    this.gpu = gpu;
    this.reason = reason;
  }

  /**
   * @param requested what the manifest or solrconfig.xml asked for
   * @param engineName the engine's name, for the reason text
   * @param gpuCount the number of GPUs the engine says it can use (0 when its native library has
   *     no CUDA support, as with the CPU builds shipped by default)
   */
  static DeviceChoice choose(DeviceRequest requested, String engineName, int gpuCount) {
    switch (requested) {
      case CPU:
        return new DeviceChoice(false, "cpu requested");
      case GPU:
        if (gpuCount > 0) {
          return new DeviceChoice(true, "gpu requested; " + engineName + " reports " + gpuCount + " GPU(s)");
        }
        return new DeviceChoice(
            false,
            "gpu requested but "
                + engineName
                + " reports no usable GPU (is its GPU native library installed?); falling back to cpu");
      case AUTO:
      default:
        if (gpuCount > 0) {
          return new DeviceChoice(true, "auto; " + engineName + " reports " + gpuCount + " GPU(s)");
        }
        return new DeviceChoice(false, "auto; " + engineName + " reports no GPU");
    }
  }

  String deviceName() {
    return gpu ? "gpu" : "cpu";
  }
}
