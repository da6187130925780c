package lakehouse.unified;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.api.java.UDF2;

/**
 * A payload whose objects/arrays nest deeper than a bound, with each too-deep value
 * replaced by a JSON string holding its text (spark_jobs/parse/depth.py).
 *
 * <p>Returns {@code (payload, folded_paths)}, or null when nothing is deeper than
 * {@code maxDepth} (the payload stays as it is); the payload unchanged and no paths when
 * the text is not JSON that Spark's reader accepts (Spark then judges it malformed). A value at path length
 * {@code maxDepth} (the root's fields are at 1; an array level counts as one) that is
 * an object or array is folded: {@code {"a":{"b":{"c":1}}}} with maxDepth 2 becomes
 * {@code {"a":{"b":"{\"c\":1}"}}}, path {@code a.b}.
 *
 * <p>Jackson's streaming parser keeps its nesting as a linked list, not a call stack,
 * so 10,000 levels cost no recursion; its default limits (1,000 levels, 20 M
 * characters in a string) are lifted here only: the folded text is bounded instead.
 * The folded text is the payload's own characters, so every token stays as sent.
 */
public final class BoundDepth implements UDF2<String, Integer, Row> {
  private static final long serialVersionUID = 1L;
  private static final int MAX_PATHS = 20;
  private static final int MAX_PATH_CHARS = 1_000;
  private static final JsonFactory FACTORY =
      JsonFactory.builder()
          .streamReadConstraints(
              StreamReadConstraints.builder()
                  .maxNestingDepth(Integer.MAX_VALUE)
                  .maxStringLength(Integer.MAX_VALUE)
                  .maxNumberLength(Integer.MAX_VALUE)
                  .build())
          // What Spark's JSON reader accepts by default (JSONOptions).
          .enable(JsonReadFeature.ALLOW_SINGLE_QUOTES)
          .enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
          .build();

  @Override
  public Row call(String payload, Integer maxDepth) {
    if (payload == null || maxDepth == null || !mayBeDeeper(payload, maxDepth)) {
      return null; // nothing to fold: the caller keeps the payload
    }
    try {
      return fold(payload, maxDepth);
    } catch (Exception e) { // not JSON Spark reads: Spark's own parse reports it
      return RowFactory.create(payload, null);
    }
  }

  /**
   * Whether the text holds more than {@code maxDepth} opening brackets (strings included):
   * without them it cannot nest that deep. A scan of chars, no allocation: almost every
   * payload stops here, so the parser runs only for the few that may be deep.
   */
  static boolean mayBeDeeper(String payload, int maxDepth) {
    int opening = 0;
    for (int i = 0, n = payload.length(); i < n; i++) {
      char c = payload.charAt(i);
      if ((c == '{' || c == '[') && ++opening > maxDepth) {
        return true;
      }
    }
    return false;
  }

  private static Row fold(String payload, int maxDepth) throws java.io.IOException {
    StringBuilder out = null;
    int copiedTo = 0;
    Set<String> paths = new LinkedHashSet<>();
    List<String> path = new ArrayList<>(); // one entry per open container: field name or "[]"
    try (JsonParser parser = FACTORY.createParser(payload)) {
      JsonToken token;
      while ((token = parser.nextToken()) != null) {
        if (token == JsonToken.FIELD_NAME) {
          path.set(path.size() - 1, parser.getCurrentName());
          continue;
        }
        boolean opens = token == JsonToken.START_OBJECT || token == JsonToken.START_ARRAY;
        if (opens && !path.isEmpty() && path.size() >= maxDepth) {
          int start = (int) parser.getTokenLocation().getCharOffset();
          parser.skipChildren(); // iterative: reads to the matching end token
          int end = (int) parser.getCurrentLocation().getCharOffset();
          if (out == null) {
            out = new StringBuilder(payload.length() + 16);
          }
          out.append(payload, copiedTo, start);
          appendJsonString(out, payload, start, end);
          copiedTo = end;
          if (paths.size() < MAX_PATHS) {
            paths.add(dotted(path));
          }
        } else if (opens) {
          path.add(token == JsonToken.START_ARRAY ? "[]" : "");
        } else if (token == JsonToken.END_OBJECT || token == JsonToken.END_ARRAY) {
          path.remove(path.size() - 1);
          if (path.isEmpty()) {
            break; // the root value ended: whatever follows is Spark's to judge, as sent
          }
        }
      }
    }
    if (out == null) {
      return RowFactory.create(payload, null);
    }
    out.append(payload, copiedTo, payload.length());
    return RowFactory.create(out.toString(), new ArrayList<>(paths));
  }

  private static String dotted(List<String> path) {
    String joined = String.join(".", path).replace(".[]", "[]");
    return joined.length() <= MAX_PATH_CHARS ? joined : joined.substring(0, MAX_PATH_CHARS) + "...";
  }

  private static void appendJsonString(StringBuilder out, String text, int start, int end) {
    out.append('"');
    for (int i = start; i < end; i++) {
      char c = text.charAt(i);
      switch (c) {
        case '"':
          out.append("\\\"");
          break;
        case '\\':
          out.append("\\\\");
          break;
        case '\n':
          out.append("\\n");
          break;
        case '\r':
          out.append("\\r");
          break;
        case '\t':
          out.append("\\t");
          break;
        default:
          if (c < 0x20) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
      }
    }
    out.append('"');
  }
}
