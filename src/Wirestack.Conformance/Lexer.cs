using System.Globalization;
using System.Text;

namespace Wirestack.Conformance;

internal enum TokenKind
{
    Integer,
    Float,
    Word,
    String,
    Backquote,
    Code,
    Option,
    Ellipsis,
    Punct,
    End,
}

/// <summary>One token of a script. <see cref="SpaceBefore"/> tells whether whitespace (or a comment) separated it
/// from the previous token: packet flags such as <c>S.</c> or <c>FP.</c> are several adjacent tokens.</summary>
internal readonly record struct Token(TokenKind Kind, string Text, int Line, bool SpaceBefore)
{
    public bool Is(char c) => Kind == TokenKind.Punct && Text.Length == 1 && Text[0] == c;

    public bool IsWord(string word) => Kind == TokenKind.Word && Text == word;

    public bool IsNumber => Kind is TokenKind.Integer or TokenKind.Float;

    /// <summary>The integer value (decimal, hex, or negative).</summary>
    public long Integer
    {
        get
        {
            string t = Text;
            bool negative = t.StartsWith('-');
            if (negative)
            {
                t = t[1..];
            }

            long value = t.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
                ? long.Parse(t[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture)
                : long.Parse(t, NumberStyles.None, CultureInfo.InvariantCulture);
            return negative ? -value : value;
        }
    }

    /// <summary>A time in seconds converted to microseconds.</summary>
    public long Microseconds => Kind == TokenKind.Integer
        ? checked(Integer * 1_000_000)
        : (long)Math.Round(double.Parse(Text, NumberStyles.Float, CultureInfo.InvariantCulture) * 1_000_000);

    public override string ToString() => Kind switch
    {
        TokenKind.End => "end of script",
        TokenKind.String => $"\"{Text}\"",
        TokenKind.Backquote => $"`{Text}`",
        _ => $"'{Text}'",
    };
}

/// <summary>A syntax error in a script (reported as a skip naming the construct: the interpreter may simply not
/// know it).</summary>
internal sealed class ScriptSyntaxException(string file, int line, string message) : Exception($"{file}:{line}: {message}")
{
    public int Line { get; } = line;
}

/// <summary>Splits a packetdrill script into tokens (spec §1). Newlines are plain whitespace; <c>//</c> and
/// <c>/* */</c> are comments.</summary>
internal sealed class Lexer
{
    private readonly string _text;
    private readonly string _file;
    private int _pos;
    private int _line = 1;

    public Lexer(string text, string file)
    {
        _text = text;
        _file = file;
    }

    public static List<Token> Tokenize(string text, string file)
    {
        var lexer = new Lexer(text, file);
        var tokens = new List<Token>();
        while (true)
        {
            Token token = lexer.Next();
            tokens.Add(token);
            if (token.Kind == TokenKind.End)
            {
                return tokens;
            }
        }
    }

    private char Peek(int offset = 0) => _pos + offset < _text.Length ? _text[_pos + offset] : '\0';

    private ScriptSyntaxException Error(string message) => new(_file, _line, message);

    public Token Next()
    {
        bool space = SkipSpaceAndComments();
        if (_pos >= _text.Length)
        {
            return new Token(TokenKind.End, "", _line, true);
        }

        int line = _line;
        char c = _text[_pos];

        if (c == '`')
        {
            int end = _text.IndexOf('`', _pos + 1);
            if (end < 0)
            {
                throw Error("unterminated back-quoted command");
            }

            string body = _text[(_pos + 1)..end];
            Consume(end + 1 - _pos);
            return new Token(TokenKind.Backquote, body, line, space);
        }

        if (c == '%' && Peek(1) == '{')
        {
            int end = _text.IndexOf("}%", _pos + 2, StringComparison.Ordinal);
            if (end < 0)
            {
                throw Error("unterminated %{ code }% block");
            }

            string body = _text[(_pos + 2)..end];
            Consume(end + 2 - _pos);
            return new Token(TokenKind.Code, body, line, space);
        }

        if (c == '"')
        {
            var sb = new StringBuilder();
            int i = _pos + 1;
            while (i < _text.Length && _text[i] != '"')
            {
                if (_text[i] == '\\' && i + 1 < _text.Length)
                {
                    i++;
                }

                sb.Append(_text[i]);
                i++;
            }

            if (i >= _text.Length)
            {
                throw Error("unterminated string");
            }

            Consume(i + 1 - _pos);
            return new Token(TokenKind.String, sb.ToString(), line, space);
        }

        if (c == '-' && Peek(1) == '-' && char.IsAsciiLetter(Peek(2)))
        {
            int start = _pos;
            while (_pos < _text.Length && !char.IsWhiteSpace(_text[_pos]))
            {
                _pos++;
            }

            return new Token(TokenKind.Option, _text[start.._pos], line, space);
        }

        if (c == '.' && Peek(1) == '.' && Peek(2) == '.')
        {
            Consume(3);
            return new Token(TokenKind.Ellipsis, "...", line, space);
        }

        if (char.IsAsciiDigit(c) || (c == '.' && char.IsAsciiDigit(Peek(1))) ||
            (c == '-' && (char.IsAsciiDigit(Peek(1)) || (Peek(1) == '.' && char.IsAsciiDigit(Peek(2))))))
        {
            return LexNumber(line, space);
        }

        if (char.IsAsciiLetter(c) || c == '_')
        {
            int start = _pos;
            while (_pos < _text.Length && (char.IsAsciiLetterOrDigit(_text[_pos]) || _text[_pos] == '_'))
            {
                _pos++;
            }

            return new Token(TokenKind.Word, _text[start.._pos], line, space);
        }

        Consume(1);
        return new Token(TokenKind.Punct, c.ToString(), line, space);
    }

    private Token LexNumber(int line, bool space)
    {
        int start = _pos;
        if (_text[_pos] == '-')
        {
            _pos++;
        }

        if (Peek() == '0' && (Peek(1) == 'x' || Peek(1) == 'X') && char.IsAsciiHexDigit(Peek(2)))
        {
            _pos += 2;
            while (char.IsAsciiHexDigit(Peek()))
            {
                _pos++;
            }

            return new Token(TokenKind.Integer, _text[start.._pos], line, space);
        }

        while (char.IsAsciiDigit(Peek()))
        {
            _pos++;
        }

        // A float needs digits after the dot: "1...6" is 1, ..., 6 and "S." is never a number.
        if (Peek() == '.' && char.IsAsciiDigit(Peek(1)))
        {
            _pos++;
            while (char.IsAsciiDigit(Peek()))
            {
                _pos++;
            }

            return new Token(TokenKind.Float, _text[start.._pos], line, space);
        }

        return new Token(TokenKind.Integer, _text[start.._pos], line, space);
    }

    private void Consume(int n)
    {
        for (int i = 0; i < n; i++)
        {
            if (_text[_pos] == '\n')
            {
                _line++;
            }

            _pos++;
        }
    }

    private bool SkipSpaceAndComments()
    {
        bool skipped = _pos == 0;
        while (_pos < _text.Length)
        {
            char c = _text[_pos];
            if (char.IsWhiteSpace(c))
            {
                Consume(1);
                skipped = true;
            }
            else if (c == '/' && Peek(1) == '/')
            {
                while (_pos < _text.Length && _text[_pos] != '\n')
                {
                    _pos++;
                }

                skipped = true;
            }
            else if (c == '/' && Peek(1) == '*')
            {
                int end = _text.IndexOf("*/", _pos + 2, StringComparison.Ordinal);
                if (end < 0)
                {
                    throw Error("unterminated /* comment");
                }

                Consume(end + 2 - _pos);
                skipped = true;
            }
            else
            {
                break;
            }
        }

        return skipped;
    }
}
