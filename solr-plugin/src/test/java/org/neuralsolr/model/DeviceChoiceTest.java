package org.neuralsolr.model;

import com.carrotsearch.randomizedtesting.annotations.ThreadLeakFilters;
import org.apache.lucene.tests.util.LuceneTestCase;
import org.neuralsolr.NativeLibraryThreadsFilter;

/** The device decision against every kind of engine report. */
@ThreadLeakFilters(defaultFilters = true, filters = {NativeLibraryThreadsFilter.class})
public class DeviceChoiceTest extends LuceneTestCase {
  public void testCpuIsCpuWhateverTheEngineHas() {
    assertFalse(DeviceChoice.choose(DeviceRequest.CPU, "PyTorch", 0).gpu);
    assertFalse(DeviceChoice.choose(DeviceRequest.CPU, "PyTorch", 4).gpu);
  }

  public void testAutoTakesAGpuOnlyWhenTheEngineReportsOne() {
    DeviceChoice none = DeviceChoice.choose(DeviceRequest.AUTO, "OnnxRuntime", 0);
    assertFalse(none.gpu);
    assertEquals("cpu", none.deviceName());
    assertTrue(none.reason, none.reason.contains("OnnxRuntime reports no GPU"));
    DeviceChoice two = DeviceChoice.choose(DeviceRequest.AUTO, "PyTorch", 2);
    assertTrue(two.gpu);
    assertEquals("gpu", two.deviceName());
    assertTrue(two.reason, two.reason.contains("2 GPU"));
  }

  public void testGpuRequestFallsBackToCpuWithAReason() {
    DeviceChoice fallback = DeviceChoice.choose(DeviceRequest.GPU, "PyTorch", 0);
    assertFalse(fallback.gpu);
    assertTrue(fallback.reason, fallback.reason.contains("falling back to cpu"));
    assertTrue(DeviceChoice.choose(DeviceRequest.GPU, "PyTorch", 1).gpu);
  }

  public void testParseRefusesUnknownDevices() {
    assertEquals(DeviceRequest.GPU, DeviceRequest.parse(" GPU "));
    IllegalArgumentException e = expectThrows(IllegalArgumentException.class, () -> DeviceRequest.parse("tpu"));
    assertTrue(e.getMessage().contains("tpu"));
  }
}
