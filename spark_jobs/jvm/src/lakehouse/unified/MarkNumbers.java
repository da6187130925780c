package lakehouse.unified;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.apache.spark.sql.api.java.UDF2;

/**
 * A payload (UTF-8 bytes) with every fraction, exponent and NaN/Infinity token outside a
 * string quoted, so that Spark's parser never turns it into a double
 * (spark_jobs/parse/exact_numbers.py says why).
 *
 * <p>A token whose path is one of the parsed struct's leaves (the second argument, a
 * JSON array of key arrays, UTF-8: {@code [["amount"],["customer","points"]]}) lands in a
 * STRING field by itself: it is only quoted, {@code 1.50} becomes {@code "1.50"}, and
 * the field reads the token as sent. Every other token (inside an array, or inside an
 * object that a leaf holds as JSON text) is quoted and marked with a NUL escape,
 * {@code "\u00001.50"}, so that it can be turned back into a number in that text.
 *
 * <p>Returns null when the payload has no such token (the caller keeps it as it is), or
 * already holds the escape {@code \u0000} (a marker would be ambiguous: the caller
 * parses it unmarked). One pass over the bytes (JSON syntax is ASCII, so UTF-8 needs no
 * decoding), no regular expression: string literals ("..." and Spark's '...') are
 * skipped whole, so digits inside strings are never touched; object keys are only
 * decoded when a token needs its path. A token must be a whole JSON number not glued to
 * a word character, dot, plus or minus ({@code 01.5}, {@code .5}, {@code 1.} and {@code
 * a1.5} stay as they are, so a malformed payload stays malformed). An unterminated
 * string stops the marking: Spark's parser judges the payload.
 */
public final class MarkNumbers implements UDF2<byte[], byte[], byte[]> {
  private static final long serialVersionUID = 1L;
  private static final byte[] QUOTE = {'"'};
  private static final byte[] MARK_OPEN = "\"\\u0000".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] ESCAPED_NUL = "\\u0000".getBytes(StandardCharsets.US_ASCII);
  private static final byte[][] NON_NUMERIC = {
    "NaN".getBytes(StandardCharsets.US_ASCII),
    "Infinity".getBytes(StandardCharsets.US_ASCII),
    "INF".getBytes(StandardCharsets.US_ASCII),
  };

  private transient byte[] leafPathsJson;
  private transient Node leafPaths;

  @Override
  public byte[] call(byte[] payload, byte[] leafPathsJson) throws Exception {
    if (payload == null) {
      return null;
    }
    return new Scan(payload, leaves(leafPathsJson)).mark();
  }

  /** The leaf paths' tree; the argument is the same literal (the same array) on every row. */
  private Node leaves(byte[] json) throws java.io.IOException {
    if (json == null) {
      return new Node();
    }
    if (json != leafPathsJson && !Arrays.equals(json, leafPathsJson)) {
      Node root = new Node();
      for (String[] path : new ObjectMapper().readValue(json, String[][].class)) {
        Node node = root;
        for (String key : path) {
          node = node.children.computeIfAbsent(key, k -> new Node());
        }
        node.leaf = true;
      }
      leafPaths = root;
      leafPathsJson = json;
    }
    return leafPaths;
  }

  /** The struct's key tree: a token lands in a field by itself where {@code leaf}. */
  static final class Node {
    final Map<String, Node> children = new HashMap<>();
    boolean leaf;
  }

  /** One payload's pass. */
  static final class Scan {
    private final byte[] s;
    private final Node root;
    private ByteBuffer out;
    private int copiedTo;
    // The open containers: whether each is an array, and each object's current key.
    private boolean[] isArray = new boolean[16];
    private int[] keyStart = new int[16];
    private int[] keyEnd = new int[16];
    private int depth;
    private int arrays;

    Scan(byte[] payload, Node root) {
      this.s = payload;
      this.root = root;
    }

    byte[] mark() {
      int n = s.length;
      int i = 0;
      while (i < n) {
        byte c = s[i];
        if (c == '"' || c == '\'') {
          int end = stringEnd(i, c);
          if (end < 0) {
            break; // unterminated: Spark judges the payload
          }
          if (depth > 0 && !isArray[depth - 1] && followedByColon(end)) {
            keyStart[depth - 1] = i + 1;
            keyEnd[depth - 1] = end - 1;
          }
          i = end;
          continue;
        }
        if (c == '{' || c == '[') {
          open(c == '[');
          i++;
          continue;
        }
        if (c == '}' || c == ']') {
          close();
          i++;
          continue;
        }
        if (!canStart(c) || (i > 0 && glued(s[i - 1]))) {
          i++;
          continue;
        }
        int end = numberTokenEnd(i);
        if (end < 0 || (end < n && glued(s[end]))) {
          i++;
          continue;
        }
        if (out == null) {
          if (indexOf(s, ESCAPED_NUL) >= 0) {
            return null; // the payload carries the marker's escape itself
          }
          out = new ByteBuffer(n + 64);
        }
        out.append(s, copiedTo, i).append(atLeaf() ? QUOTE : MARK_OPEN).append(s, i, end).append(QUOTE);
        copiedTo = end;
        i = end;
      }
      if (out == null) {
        return null;
      }
      return out.append(s, copiedTo, n).toArray();
    }

    private void open(boolean array) {
      if (depth == isArray.length) {
        isArray = Arrays.copyOf(isArray, depth * 2);
        keyStart = Arrays.copyOf(keyStart, depth * 2);
        keyEnd = Arrays.copyOf(keyEnd, depth * 2);
      }
      isArray[depth] = array;
      keyStart[depth] = -1;
      depth++;
      if (array) {
        arrays++;
      }
    }

    private void close() {
      if (depth > 0) {
        depth--;
        if (isArray[depth]) {
          arrays--;
        }
      }
    }

    /** Whether the token here is the value of a leaf of the struct (no array around it). */
    private boolean atLeaf() {
      if (arrays > 0 || depth == 0) {
        return false;
      }
      Node node = root;
      for (int level = 0; level < depth; level++) {
        if (keyStart[level] < 0) {
          return false;
        }
        node = node.children.get(key(keyStart[level], keyEnd[level]));
        if (node == null) {
          return false;
        }
      }
      return node.leaf;
    }

    /** The key between {@code start} and {@code end}, its escapes decoded. */
    private String key(int start, int end) {
      String raw = new String(s, start, end - start, StandardCharsets.UTF_8);
      if (raw.indexOf('\\') < 0) {
        return raw;
      }
      StringBuilder key = new StringBuilder(raw.length());
      for (int i = 0; i < raw.length(); i++) {
        char c = raw.charAt(i);
        if (c != '\\' || i + 1 >= raw.length()) {
          key.append(c);
          continue;
        }
        char e = raw.charAt(++i);
        switch (e) {
          case 'b': key.append('\b'); break;
          case 'f': key.append('\f'); break;
          case 'n': key.append('\n'); break;
          case 'r': key.append('\r'); break;
          case 't': key.append('\t'); break;
          case 'u':
            if (i + 4 < raw.length()) {
              key.append((char) Integer.parseInt(raw.substring(i + 1, i + 5), 16));
              i += 4;
            }
            break;
          default: key.append(e); // \" \\ \/ and Spark's lenient escapes
        }
      }
      return key.toString();
    }

    private boolean followedByColon(int i) {
      int n = s.length;
      while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) {
        i++;
      }
      return i < n && s[i] == ':';
    }

    /** Index just past the string literal opening at {@code start}, or -1 if unterminated. */
    private int stringEnd(int start, byte quote) {
      for (int i = start + 1, n = s.length; i < n; i++) {
        byte c = s[i];
        if (c == '\\') {
          i++;
        } else if (c == quote) {
          return i + 1;
        }
      }
      return -1;
    }

    /**
     * End of the fraction/exponent/NaN/Infinity token starting at {@code i}, or -1. An
     * integer is not a token: Spark already keeps its digits.
     */
    private int numberTokenEnd(int i) {
      int n = s.length;
      int j = i;
      byte c = s[j];
      if (c == '+' || c == '-') {
        int word = nonNumericEnd(j + 1);
        if (word > 0) {
          return word;
        }
        if (c == '+') {
          return -1;
        }
        j++;
      } else if (c == 'N' || c == 'I') {
        return nonNumericEnd(j);
      }
      if (j >= n) {
        return -1;
      }
      c = s[j];
      if (c == '0') {
        j++;
      } else if (c >= '1' && c <= '9') {
        j = digitsEnd(j);
      } else {
        return -1;
      }
      boolean token = false;
      if (j < n && s[j] == '.') {
        int fraction = digitsEnd(j + 1);
        if (fraction == j + 1) {
          return -1;
        }
        j = fraction;
        token = true;
      }
      if (j < n && (s[j] == 'e' || s[j] == 'E')) {
        int k = j + 1;
        if (k < n && (s[k] == '+' || s[k] == '-')) {
          k++;
        }
        int exponent = digitsEnd(k);
        if (exponent == k) {
          return token ? j : -1; // "1.5e": glued to the 'e', so no token
        }
        j = exponent;
        token = true;
      }
      return token ? j : -1;
    }

    private int nonNumericEnd(int i) {
      for (byte[] word : NON_NUMERIC) {
        if (regionMatches(s, i, word)) {
          return i + word.length;
        }
      }
      return -1;
    }

    private int digitsEnd(int i) {
      int n = s.length;
      while (i < n && s[i] >= '0' && s[i] <= '9') {
        i++;
      }
      return i;
    }
  }

  private static boolean canStart(byte c) {
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == 'N' || c == 'I';
  }

  /** A character a token may not touch: an ASCII word character, dot, plus or minus. */
  private static boolean glued(byte c) {
    return (c >= 'a' && c <= 'z')
        || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9')
        || c == '_'
        || c == '.'
        || c == '+'
        || c == '-';
  }

  private static boolean regionMatches(byte[] s, int at, byte[] word) {
    if (at + word.length > s.length) {
      return false;
    }
    for (int k = 0; k < word.length; k++) {
      if (s[at + k] != word[k]) {
        return false;
      }
    }
    return true;
  }

  private static int indexOf(byte[] s, byte[] word) {
    for (int i = 0; i + word.length <= s.length; i++) {
      if (s[i] == word[0] && regionMatches(s, i, word)) {
        return i;
      }
    }
    return -1;
  }

  /** A growable byte array (java.io.ByteArrayOutputStream is synchronized). */
  static final class ByteBuffer {
    private byte[] bytes;
    private int size;

    ByteBuffer(int capacity) {
      bytes = new byte[capacity];
    }

    ByteBuffer append(byte[] from, int start, int end) {
      int length = end - start;
      if (size + length > bytes.length) {
        bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, size + length));
      }
      System.arraycopy(from, start, bytes, size, length);
      size += length;
      return this;
    }

    ByteBuffer append(byte[] from) {
      return append(from, 0, from.length);
    }

    byte[] toArray() {
      return Arrays.copyOf(bytes, size);
    }
  }
}
