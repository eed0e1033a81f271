using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Security.AccessControl;
using System.Security.Principal;

namespace Jobs.Platform.Windows;

/// <summary>
/// The token a job runs with: the server's own, made with <c>CreateRestrictedToken</c> so that a
/// server running as an administrator does not lend its rights to its jobs. Every group that is an
/// administrator's membership (BUILTIN\Administrators, "Local account and member of Administrators
/// group", and Domain, Schema and Enterprise Admins) becomes deny-only: it still denies what is
/// denied to it and no longer grants anything. <c>DISABLE_MAX_PRIVILEGE</c> removes every privilege
/// but <c>SeChangeNotifyPrivilege</c>. The same user, session and integrity level stay; a server that
/// is not an administrator gets a token with less to remove.
/// </summary>
/// <remarks>
/// An elevated administrator's token names Administrators as the owner of what it creates and
/// grants only Administrators and SYSTEM in its default DACL. Deny-only, that group would leave the
/// child unable to open its own objects again, so the user becomes the owner and is added to the
/// default DACL, as UAC's filtered token and Chromium's sandbox have it.
/// </remarks>
[SupportedOSPlatform("windows")]
internal static class RestrictedToken
{
    private const string LocalAccountAndAdministrator = "S-1-5-114";
    private const string AccountDomainPrefix = "S-1-5-21-";

    /// <summary>A primary token for <c>CreateProcessAsUserW</c>, which the caller closes.</summary>
    /// <param name="command">The command about to start, for the error.</param>
    /// <exception cref="ChildStartException">The token cannot be made.</exception>
    public static unsafe nint Create(string command)
    {
        nint server = 0;
        nint restricted = 0;
        void* groups = null;
        try
        {
            const uint access = Win32.TOKEN_DUPLICATE | Win32.TOKEN_QUERY | Win32.TOKEN_ASSIGN_PRIMARY | Win32.TOKEN_ADJUST_DEFAULT;
            if (!Win32.OpenProcessToken(Win32.GetCurrentProcess(), access, out server))
            {
                throw Error(command, "cannot open the server's token");
            }

            // The SIDs point into the buffer, which stays put until the token is made.
            groups = Query(server, Win32.TokenGroups, command);
            var all = new ReadOnlySpan<Win32.SID_AND_ATTRIBUTES>(&((Win32.TOKEN_GROUPS*)groups)->Groups, (int)((Win32.TOKEN_GROUPS*)groups)->GroupCount);
            var disable = new List<Win32.SID_AND_ATTRIBUTES>();
            var disabled = new List<SecurityIdentifier>();
            foreach (var group in all)
            {
                var sid = new SecurityIdentifier(group.Sid);
                if (IsAdministrators(sid))
                {
                    disable.Add(new Win32.SID_AND_ATTRIBUTES { Sid = group.Sid });
                    disabled.Add(sid);
                }
            }

            var sidsToDisable = disable.ToArray();
            fixed (Win32.SID_AND_ATTRIBUTES* list = sidsToDisable)
            {
                if (!Win32.CreateRestrictedToken(server, Win32.DISABLE_MAX_PRIVILEGE, sidsToDisable.Length, list, 0, 0, 0, 0, out restricted))
                {
                    throw Error(command, "cannot make the job's restricted token");
                }
            }

            GiveTheUserWhatItCreates(restricted, disabled, command);
            nint made = restricted;
            restricted = 0;
            return made;
        }
        finally
        {
            NativeMemory.Free(groups);
            if (restricted != 0)
            {
                Win32.CloseHandle(restricted);
            }

            if (server != 0)
            {
                Win32.CloseHandle(server);
            }
        }
    }

    private static bool IsAdministrators(SecurityIdentifier sid)
    {
        if (sid.IsWellKnown(WellKnownSidType.BuiltinAdministratorsSid) || sid.Value == LocalAccountAndAdministrator)
        {
            return true;
        }

        // S-1-5-21-A-B-C-RID: Domain Admins (512), Schema Admins (518), Enterprise Admins (519) of any domain.
        string[] parts = sid.Value.Split('-');
        return sid.Value.StartsWith(AccountDomainPrefix, StringComparison.Ordinal) && parts.Length == 8 && parts[7] is "512" or "518" or "519";
    }

    private static unsafe void GiveTheUserWhatItCreates(nint token, List<SecurityIdentifier> disabled, string command)
    {
        void* user = null;
        void* owner = null;
        void* dacl = null;
        try
        {
            user = Query(token, Win32.TokenUser, command);
            nint userSid = ((Win32.SID_AND_ATTRIBUTES*)user)->Sid;
            owner = Query(token, Win32.TokenOwner, command);
            if (disabled.Contains(new SecurityIdentifier(*(nint*)owner)))
            {
                // Only an owner made deny-only is changed: Windows always takes the user as owner, while
                // Wine 8 cannot change an owner at all (measured; its owner is Domain Users anyway).
                if (!Win32.SetTokenInformation(token, Win32.TokenOwner, &userSid, sizeof(nint)))
                {
                    throw Error(command, "cannot make the user the owner in the job's token");
                }
            }

            // A token without a default DACL gives its objects none, which grants everyone everything: nothing to add.
            dacl = Query(token, Win32.TokenDefaultDacl, command);
            nint current = *(nint*)dacl;
            if (current == 0)
            {
                return;
            }

            var sid = new SecurityIdentifier(userSid);
            var binary = new byte[*(ushort*)(current + 2)];
            Marshal.Copy(current, binary, 0, binary.Length);
            var acl = new RawAcl(binary, 0);
            if (acl.OfType<CommonAce>().Any(ace => ace.AceQualifier == AceQualifier.AccessAllowed && ace.SecurityIdentifier == sid))
            {
                return;
            }

            acl.InsertAce(acl.Count, new CommonAce(AceFlags.None, AceQualifier.AccessAllowed, Win32.GENERIC_ALL, sid, false, null));
            var grown = new byte[acl.BinaryLength];
            acl.GetBinaryForm(grown, 0);
            fixed (byte* pointer = grown)
            {
                nint defaultDacl = (nint)pointer;
                if (!Win32.SetTokenInformation(token, Win32.TokenDefaultDacl, &defaultDacl, sizeof(nint)))
                {
                    throw Error(command, "cannot give the user the default DACL of the job's token");
                }
            }
        }
        finally
        {
            NativeMemory.Free(user);
            NativeMemory.Free(owner);
            NativeMemory.Free(dacl);
        }
    }

    // The information in native memory (it holds pointers into itself), which the caller frees.
    private static unsafe void* Query(nint token, int information, string command)
    {
        if (Win32.GetTokenInformation(token, information, null, 0, out int size) || Marshal.GetLastPInvokeError() != Win32.ERROR_INSUFFICIENT_BUFFER)
        {
            throw Error(command, "cannot read a token");
        }

        void* buffer = NativeMemory.Alloc((nuint)size);
        if (!Win32.GetTokenInformation(token, information, buffer, size, out _))
        {
            var error = Error(command, "cannot read a token");
            NativeMemory.Free(buffer);
            throw error;
        }

        return buffer;
    }

    private static ChildStartException Error(string command, string what)
    {
        int error = Marshal.GetLastPInvokeError();
        return new ChildStartException(command, error, $"{what}: {Marshal.GetPInvokeErrorMessage(error)}");
    }
}
