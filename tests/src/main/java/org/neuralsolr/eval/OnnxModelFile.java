package org.neuralsolr.eval;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Just enough of the protobuf wire format to read an ONNX model's graph outline and append nodes
 * and outputs to it, without a protobuf library (the ONNX Java classes are not on the class path).
 * Field numbers are those of {@code onnx.proto}: ModelProto.graph = 7; GraphProto.node = 1,
 * initializer = 5, output = 12; TensorProto.dims = 1, data_type = 2, name = 8, raw_data = 9;
 * NodeProto.input = 1, output = 2, name = 3, op_type = 4, attribute = 5; AttributeProto.name = 1,
 * f = 2, i = 3, t = 5, ints = 8, type = 20; ValueInfoProto.name = 1, type = 2.
 *
 * <p>Protobuf merges repeated fields by concatenation, so appending a node or output field after a
 * graph's existing bytes adds it after the existing ones: the graph stays topologically sorted
 * when the new nodes only read values computed earlier.
 */
final class OnnxModelFile {
  private static final int WIRE_VARINT = 0;
  private static final int WIRE_FIXED64 = 1;
  private static final int WIRE_BYTES = 2;
  private static final int WIRE_FIXED32 = 5;

  /** ONNX TensorProto.DataType FLOAT. */
  static final int FLOAT = 1;

  private final byte[] model;
  private final int graphStart; // first byte of the graph message (after its tag and length)
  private final int graphEnd;

  /** An initializer's outline: name and shape (its data is not read). */
  record Initializer(String name, long[] dims, int dataType) {}

  OnnxModelFile(byte[] model) {
    this.model = model;
    int[] graph = findField(model, 0, model.length, 7);
    if (graph == null) {
      throw new IllegalArgumentException("not an ONNX model: no graph");
    }
    this.graphStart = graph[0];
    this.graphEnd = graph[1];
  }

  /** The graph's initializers (name, dims, data type). */
  List<Initializer> initializers() {
    List<Initializer> out = new ArrayList<>();
    int pos = graphStart;
    while (pos < graphEnd) {
      long tag = readVarint(model, pos);
      pos += varintSize(tag);
      int field = (int) (tag >>> 3);
      int wire = (int) (tag & 7);
      if (field == 5 && wire == WIRE_BYTES) {
        long length = readVarint(model, pos);
        pos += varintSize(length);
        out.add(readTensorOutline(pos, pos + (int) length));
        pos += (int) length;
      } else {
        pos = skip(model, pos, wire);
      }
    }
    return out;
  }

  /** The values of a float initializer stored as raw data (little-endian), in row-major order. */
  float[] floatInitializer(String name) {
    int pos = graphStart;
    while (pos < graphEnd) {
      long tag = readVarint(model, pos);
      pos += varintSize(tag);
      int wire = (int) (tag & 7);
      if ((tag >>> 3) == 5 && wire == WIRE_BYTES) {
        long length = readVarint(model, pos);
        pos += varintSize(length);
        int end = pos + (int) length;
        if (readTensorOutline(pos, end).name().equals(name)) {
          int[] raw = findField(model, pos, end, 9);
          if (raw == null) {
            throw new IllegalArgumentException("initializer " + name + " has no raw data");
          }
          java.nio.FloatBuffer floats =
              java.nio.ByteBuffer.wrap(model, raw[0], raw[1] - raw[0]).order(java.nio.ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
          float[] out = new float[floats.remaining()];
          floats.get(out);
          return out;
        }
        pos = end;
      } else {
        pos = skip(model, pos, wire);
      }
    }
    throw new IllegalArgumentException("no initializer " + name);
  }

  /** Names of the graph's outputs, in order. */
  List<String> outputs() {
    List<String> out = new ArrayList<>();
    int pos = graphStart;
    while (pos < graphEnd) {
      long tag = readVarint(model, pos);
      pos += varintSize(tag);
      int field = (int) (tag >>> 3);
      int wire = (int) (tag & 7);
      if (field == 12 && wire == WIRE_BYTES) {
        long length = readVarint(model, pos);
        pos += varintSize(length);
        int[] name = findField(model, pos, pos + (int) length, 1);
        out.add(new String(model, name[0], name[1] - name[0], StandardCharsets.UTF_8));
        pos += (int) length;
      } else {
        pos = skip(model, pos, wire);
      }
    }
    return out;
  }

  private Initializer readTensorOutline(int start, int end) {
    List<Long> dims = new ArrayList<>();
    String name = "";
    int dataType = 0;
    int pos = start;
    while (pos < end) {
      long tag = readVarint(model, pos);
      pos += varintSize(tag);
      int field = (int) (tag >>> 3);
      int wire = (int) (tag & 7);
      if (field == 1 && wire == WIRE_VARINT) {
        long v = readVarint(model, pos);
        dims.add(v);
        pos += varintSize(v);
      } else if (field == 1 && wire == WIRE_BYTES) { // packed dims
        long length = readVarint(model, pos);
        pos += varintSize(length);
        int stop = pos + (int) length;
        while (pos < stop) {
          long v = readVarint(model, pos);
          dims.add(v);
          pos += varintSize(v);
        }
      } else if (field == 2 && wire == WIRE_VARINT) {
        long v = readVarint(model, pos);
        dataType = (int) v;
        pos += varintSize(v);
      } else if (field == 8 && wire == WIRE_BYTES) {
        long length = readVarint(model, pos);
        pos += varintSize(length);
        name = new String(model, pos, (int) length, StandardCharsets.UTF_8);
        pos += (int) length;
      } else {
        pos = skip(model, pos, wire);
      }
    }
    return new Initializer(name, dims.stream().mapToLong(Long::longValue).toArray(), dataType);
  }

  /**
   * The model with {@code nodes} appended to its graph and {@code outputs} added to the graph's
   * outputs (existing ones are kept).
   */
  byte[] withAppended(List<byte[]> nodes, List<byte[]> outputs) {
    ByteArrayOutputStream extra = new ByteArrayOutputStream();
    for (byte[] n : nodes) {
      writeBytesField(extra, 1, n);
    }
    for (byte[] o : outputs) {
      writeBytesField(extra, 12, o);
    }
    byte[] added = extra.toByteArray();
    long newGraphLength = (long) (graphEnd - graphStart) + added.length;
    ByteArrayOutputStream out = new ByteArrayOutputStream(model.length + added.length + 16);
    // everything before the graph's tag: the tag and length are rewritten
    int tagStart = graphTagStart();
    out.write(model, 0, tagStart);
    writeVarint(out, (7 << 3) | WIRE_BYTES);
    writeVarint(out, newGraphLength);
    out.write(model, graphStart, graphEnd - graphStart);
    out.write(added, 0, added.length);
    out.write(model, graphEnd, model.length - graphEnd);
    return out.toByteArray();
  }

  private int graphTagStart() {
    int pos = 0;
    while (pos < model.length) {
      int fieldStart = pos;
      long tag = readVarint(model, pos);
      pos += varintSize(tag);
      if ((tag >>> 3) == 7 && (tag & 7) == WIRE_BYTES) {
        return fieldStart;
      }
      pos = skip(model, pos, (int) (tag & 7));
    }
    throw new IllegalStateException("graph field vanished");
  }

  // ---- building messages

  /** A NodeProto. Attributes are AttributeProto messages from the helpers below. */
  static byte[] node(String name, String opType, List<String> inputs, List<String> outputs, byte[]... attributes) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    for (String in : inputs) {
      writeStringField(b, 1, in);
    }
    for (String o : outputs) {
      writeStringField(b, 2, o);
    }
    writeStringField(b, 3, name);
    writeStringField(b, 4, opType);
    for (byte[] a : attributes) {
      writeBytesField(b, 5, a);
    }
    return b.toByteArray();
  }

  /** An AttributeProto of type INTS (7). */
  static byte[] intsAttribute(String name, long... values) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    writeStringField(b, 1, name);
    for (long v : values) {
      writeVarint(b, (8 << 3) | WIRE_VARINT);
      writeVarint(b, v);
    }
    writeVarint(b, (20 << 3) | WIRE_VARINT);
    writeVarint(b, 7);
    return b.toByteArray();
  }

  /** An AttributeProto of type INT (2). */
  static byte[] intAttribute(String name, long value) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    writeStringField(b, 1, name);
    writeVarint(b, (3 << 3) | WIRE_VARINT);
    writeVarint(b, value);
    writeVarint(b, (20 << 3) | WIRE_VARINT);
    writeVarint(b, 2);
    return b.toByteArray();
  }

  /** An AttributeProto of type TENSOR (4) holding a float scalar: a Constant node's value. */
  static byte[] floatScalarAttribute(String name, float value) {
    ByteArrayOutputStream tensor = new ByteArrayOutputStream();
    writeVarint(tensor, (2 << 3) | WIRE_VARINT);
    writeVarint(tensor, FLOAT);
    int bits = Float.floatToIntBits(value);
    writeBytesField(tensor, 9, new byte[] {(byte) bits, (byte) (bits >>> 8), (byte) (bits >>> 16), (byte) (bits >>> 24)});
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    writeStringField(b, 1, name);
    writeBytesField(b, 5, tensor.toByteArray());
    writeVarint(b, (20 << 3) | WIRE_VARINT);
    writeVarint(b, 4);
    return b.toByteArray();
  }

  /** A ValueInfoProto for a float tensor; a dimension is a String (symbolic) or a Number. */
  static byte[] floatOutput(String name, Object... dims) {
    ByteArrayOutputStream shape = new ByteArrayOutputStream();
    for (Object d : dims) {
      ByteArrayOutputStream dim = new ByteArrayOutputStream();
      if (d instanceof Number) {
        writeVarint(dim, (1 << 3) | WIRE_VARINT);
        writeVarint(dim, ((Number) d).longValue());
      } else {
        writeStringField(dim, 2, d.toString());
      }
      writeBytesField(shape, 1, dim.toByteArray());
    }
    ByteArrayOutputStream tensorType = new ByteArrayOutputStream();
    writeVarint(tensorType, (1 << 3) | WIRE_VARINT);
    writeVarint(tensorType, FLOAT);
    writeBytesField(tensorType, 2, shape.toByteArray());
    ByteArrayOutputStream type = new ByteArrayOutputStream();
    writeBytesField(type, 1, tensorType.toByteArray());
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    writeStringField(b, 1, name);
    writeBytesField(b, 2, type.toByteArray());
    return b.toByteArray();
  }

  // ---- wire format

  /** [start, end) of the first length-delimited field {@code number} in [from, to), or null. */
  private static int[] findField(byte[] b, int from, int to, int number) {
    int pos = from;
    while (pos < to) {
      long tag = readVarint(b, pos);
      pos += varintSize(tag);
      int wire = (int) (tag & 7);
      if ((tag >>> 3) == number && wire == WIRE_BYTES) {
        long length = readVarint(b, pos);
        pos += varintSize(length);
        return new int[] {pos, pos + (int) length};
      }
      pos = skip(b, pos, wire);
    }
    return null;
  }

  private static int skip(byte[] b, int pos, int wire) {
    switch (wire) {
      case WIRE_VARINT:
        return pos + varintSize(readVarint(b, pos));
      case WIRE_FIXED64:
        return pos + 8;
      case WIRE_BYTES:
        long length = readVarint(b, pos);
        return pos + varintSize(length) + (int) length;
      case WIRE_FIXED32:
        return pos + 4;
      default:
        throw new IllegalArgumentException("unsupported protobuf wire type " + wire + " at byte " + pos);
    }
  }

  private static long readVarint(byte[] b, int pos) {
    long v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      byte x = b[pos++];
      v |= (long) (x & 0x7F) << shift;
      if ((x & 0x80) == 0) {
        return v;
      }
    }
    throw new IllegalArgumentException("malformed varint");
  }

  private static int varintSize(long v) {
    int n = 1;
    while ((v & ~0x7FL) != 0) {
      v >>>= 7;
      n++;
    }
    return n;
  }

  private static void writeVarint(ByteArrayOutputStream out, long v) {
    while ((v & ~0x7FL) != 0) {
      out.write((int) ((v & 0x7F) | 0x80));
      v >>>= 7;
    }
    out.write((int) v);
  }

  private static void writeBytesField(ByteArrayOutputStream out, int field, byte[] bytes) {
    writeVarint(out, ((long) field << 3) | WIRE_BYTES);
    writeVarint(out, bytes.length);
    out.write(bytes, 0, bytes.length);
  }

  private static void writeStringField(ByteArrayOutputStream out, int field, String s) {
    writeBytesField(out, field, s.getBytes(StandardCharsets.UTF_8));
  }
}
