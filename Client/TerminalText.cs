using System.Buffers;
using System.Globalization;
using System.Text;

namespace Jobs.Client;

/// <summary>
/// Makes text from the server or the command line safe to print for a person: characters a
/// terminal would act on, or that would disguise what is shown, become visible escapes.
/// </summary>
/// <remarks>
/// Commands and arguments are chosen by whoever started a job and reach an admin's <c>ps --all</c>;
/// echoed in an error, they reach the caller's stderr. An ESC or C1 sequence could retitle, clear
/// or rewrite the terminal, a newline could fake a table row, a bidi override could show
/// <c>txt.exe</c> as <c>exe.txt</c>. Escaped: every C0 control (including tab and newline), DEL, every
/// C1 control, the bidi embeddings, overrides, isolates and marks, and the line and paragraph
/// separators. A backslash is left as it is, so that escaping twice changes nothing; the exact text
/// is what <c>--output json</c> is for. Job output (<c>logs</c>) is the job's own byte stream and
/// never comes through here.
/// </remarks>
internal static class TerminalText
{
    private static readonly SearchValues<char> Unsafe = SearchValues.Create(UnsafeCharacters());

    /// <summary>
    /// The text with each unsafe character as <c>\n</c>, <c>\r</c>, <c>\t</c>, <c>\xHH</c> (other C0
    /// and DEL) or <c>\uHHHH</c> (the rest); the same string when there is none.
    /// </summary>
    public static string Escape(string text) => Replace(text, json: false);

    /// <summary>
    /// A JSON text with each unsafe character as a JSON <c>\uHHHH</c> escape: the same JSON value,
    /// character for character, but nothing a terminal acts on. The JSON writers escape C0 controls
    /// already; Google.Protobuf leaves the bidi isolates (U+2066-U+2069) as they are.
    /// </summary>
    /// <remarks>
    /// In valid JSON, unsafe characters other than whitespace can only be inside strings, where
    /// <c>\uHHHH</c> means the same character.
    /// </remarks>
    public static string EscapeJson(string json) => Replace(json, json: true);

    private static string Replace(string text, bool json)
    {
        int next = text.AsSpan().IndexOfAny(Unsafe);
        if (next < 0)
        {
            return text;
        }

        var builder = new StringBuilder(text.Length + 16);
        int copied = 0;
        while (next >= 0)
        {
            int at = copied + next;
            builder.Append(text, copied, at - copied);
            char c = text[at];
            // In JSON text these are whitespace between tokens (a JSON writer escapes them in strings).
            builder.Append(json ? (c is '\n' or '\r' or '\t' ? c.ToString() : JsonEscape(c)) : VisibleEscape(c));
            copied = at + 1;
            next = text.AsSpan(copied).IndexOfAny(Unsafe);
        }

        return builder.Append(text, copied, text.Length - copied).ToString();
    }

    private static string VisibleEscape(char c) => c switch
    {
        '\n' => @"\n",
        '\r' => @"\r",
        '\t' => @"\t",
        < '\u0020' or '\u007f' => string.Create(CultureInfo.InvariantCulture, $@"\x{(int)c:x2}"),
        _ => JsonEscape(c),
    };

    private static string JsonEscape(char c) => string.Create(CultureInfo.InvariantCulture, $@"\u{(int)c:x4}");

    private static string UnsafeCharacters()
    {
        var characters = new StringBuilder();
        for (char c = '\u0000'; c <= '\u009f'; c++)
        {
            if (char.IsControl(c))
            {
                characters.Append(c);
            }
        }

        // Arabic letter mark; LRM, RLM; line and paragraph separators; LRE, RLE, PDF, LRO, RLO;
        // LRI, RLI, FSI, PDI.
        characters.Append("\u061c\u200e\u200f\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069");
        return characters.ToString();
    }
}
