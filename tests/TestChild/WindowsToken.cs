using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Security.AccessControl;
using System.Security.Principal;
using System.Text;

namespace Jobs.TestChild;

/// <summary>The token this process runs with, read with <c>GetTokenInformation</c>, as the lines the <c>token</c> mode prints.</summary>
[SupportedOSPlatform("windows")]
public static class WindowsToken
{
    private const uint TokenQuery = 0x8;
    private const int TokenUser = 1;
    private const int TokenGroups = 2;
    private const int TokenPrivileges = 3;
    private const int TokenOwner = 4;
    private const int TokenDefaultDacl = 6;
    private const uint GroupEnabled = 0x4;
    private const uint GroupUseForDenyOnly = 0x10;
    private const uint PrivilegeEnabled = 0x2;

    /// <summary>One line a fact: "user SID", "owner SID", "group SID enabled|disabled|deny-only", "privilege NAME enabled|disabled", "default-dacl allow|deny|other SID".</summary>
    public static unsafe string Describe()
    {
        if (!NativeMethods.OpenProcessToken(NativeMethods.GetCurrentProcess(), TokenQuery, out nint token))
        {
            throw new IOException($"OpenProcessToken failed, error {Marshal.GetLastPInvokeError()}");
        }

        var text = new StringBuilder();
        try
        {
            Read(token, TokenUser, info => text.Append($"user {Sid(*(nint*)info)}\n"));
            Read(token, TokenOwner, info => text.Append($"owner {Sid(*(nint*)info)}\n"));

            // TOKEN_GROUPS and TOKEN_PRIVILEGES: a count, then the entries (SID_AND_ATTRIBUTES at a
            // pointer's alignment, LUID_AND_ATTRIBUTES of 12 bytes right after the count).
            Read(token, TokenGroups, info =>
            {
                for (int i = 0; i < *(int*)info; i++)
                {
                    byte* entry = (byte*)info + sizeof(nint) + (i * 2 * sizeof(nint));
                    uint attributes = *(uint*)(entry + sizeof(nint));
                    string state = (attributes & GroupUseForDenyOnly) != 0 ? "deny-only" : (attributes & GroupEnabled) != 0 ? "enabled" : "disabled";
                    text.Append($"group {Sid(*(nint*)entry)} {state}\n");
                }
            });
            Read(token, TokenPrivileges, info =>
            {
                for (int i = 0; i < *(int*)info; i++)
                {
                    byte* entry = (byte*)info + 4 + (i * 12);
                    string state = (*(uint*)(entry + 8) & PrivilegeEnabled) != 0 ? "enabled" : "disabled";
                    text.Append($"privilege {PrivilegeName((long*)entry)} {state}\n");
                }
            });
            Read(token, TokenDefaultDacl, info =>
            {
                nint acl = *(nint*)info;
                if (acl == 0)
                {
                    return;
                }

                var binary = new byte[*(ushort*)(acl + 2)];
                Marshal.Copy(acl, binary, 0, binary.Length);
                foreach (var ace in new RawAcl(binary, 0).OfType<KnownAce>())
                {
                    string kind = ace.AceType switch
                    {
                        AceType.AccessAllowed => "allow",
                        AceType.AccessDenied => "deny",
                        _ => "other",
                    };
                    text.Append($"default-dacl {kind} {ace.SecurityIdentifier}\n");
                }
            });
        }
        finally
        {
            NativeMethods.CloseHandle(token);
        }

        return text.ToString();
    }

    private static unsafe void Read(nint token, int information, Action<nint> use)
    {
        NativeMethods.GetTokenInformation(token, information, null, 0, out int size);
        if (size == 0)
        {
            throw new IOException($"GetTokenInformation({information}) failed, error {Marshal.GetLastPInvokeError()}");
        }

        // Native memory: the information holds pointers into itself.
        void* buffer = NativeMemory.Alloc((nuint)size);
        try
        {
            if (!NativeMethods.GetTokenInformation(token, information, buffer, size, out _))
            {
                throw new IOException($"GetTokenInformation({information}) failed, error {Marshal.GetLastPInvokeError()}");
            }

            use((nint)buffer);
        }
        finally
        {
            NativeMemory.Free(buffer);
        }
    }

    private static string Sid(nint sid) => new SecurityIdentifier(sid).Value;

    private static unsafe string PrivilegeName(long* luid)
    {
        char* name = stackalloc char[128];
        int length = 128;
        return NativeMethods.LookupPrivilegeName(null, luid, name, ref length)
            ? new string(name, 0, length)
            : $"luid-{*luid}";
    }
}
