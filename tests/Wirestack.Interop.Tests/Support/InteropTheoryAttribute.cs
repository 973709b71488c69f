namespace Wirestack.Interop.Tests.Support;

/// <summary>The <see cref="TheoryAttribute"/> twin of <see cref="InteropFactAttribute"/>.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class InteropTheoryAttribute : TheoryAttribute
{
    public InteropTheoryAttribute(params string[] tools)
    {
        Skip = InteropFactAttribute.Why(tools);
    }
}
