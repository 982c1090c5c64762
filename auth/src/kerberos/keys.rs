//! Choosing service keys for a ticket (field research R1, R4): any principal in the keytab,
//! matched by (sname@realm exactly as in the ticket, enctype); the ticket's kvno first, then the
//! other kvnos of that principal (newest first), then kvno 0, because the integrity check tells
//! the right key from a wrong one.

use crate::asn1::kerberos::{PrincipalName, Realm};
use crate::keytab::{Keytab, KeytabEntry};

/// A key to try, and whether using it is a kvno fallback.
#[derive(Debug)]
pub struct Candidate<'a> {
    /// The keytab entry.
    pub entry: &'a KeytabEntry,
    /// True when the entry's kvno differs from the ticket's.
    pub fallback: bool,
}

/// True if the keytab entry names exactly this principal.
fn same_principal(e: &KeytabEntry, realm: &Realm, sname: &PrincipalName) -> bool {
    e.realm == realm.as_bytes()
        && e.components.len() == sname.name_string.len()
        && e.components
            .iter()
            .zip(sname.name_string.iter())
            .all(|(a, b)| a.as_slice() == b.as_bytes())
}

/// Entries for the principal (any enctype): used to tell "no such SPN" from "no such enctype".
pub fn for_principal<'a>(
    kt: &'a Keytab,
    realm: &Realm,
    sname: &PrincipalName,
) -> Vec<&'a KeytabEntry> {
    kt.entries()
        .iter()
        .filter(|e| same_principal(e, realm, sname))
        .collect()
}

/// Candidate keys in the order to try them.
pub fn candidates<'a>(
    kt: &'a Keytab,
    realm: &Realm,
    sname: &PrincipalName,
    enctype: i32,
    kvno: Option<u32>,
) -> Vec<Candidate<'a>> {
    let mut list: Vec<&KeytabEntry> = kt
        .entries()
        .iter()
        .filter(|e| e.enctype == enctype && same_principal(e, realm, sname))
        .collect();
    // Exact kvno first, then newest kvno first, kvno 0 (the "any" convention) last.
    list.sort_by_key(|e| {
        let exact = Some(e.kvno) == kvno;
        (!exact, e.kvno == 0, std::cmp::Reverse(e.kvno))
    });
    list.into_iter()
        .map(|entry| Candidate {
            entry,
            fallback: kvno.is_some_and(|k| k != entry.kvno),
        })
        .collect()
}
