//! DANE for SMTP (RFC 7672 §3, RFC 7671 §5): a DANE-EE record matches the server's own
//! certificate or key, with no name or date check; a DANE-TA record names the only
//! trust anchor of a chain that must then be valid, current and issued to one of the
//! reference identifiers.

use ring::digest;
use rustls::pki_types::{CertificateDer, Der, ServerName, TrustAnchor, UnixTime};
use smtp_proto::mx::{TlsResultType, Tlsa, TlsaMatching, TlsaSelector, TlsaUsage, Verification};
use webpki::{anchor_from_trusted_cert, EndEntityCert, KeyUsage};

use super::der;
use super::verifier::{webpki_result_type, CertCheck, Outcome};

pub(crate) struct Dane {
    /// Usable records only (RFC 7672 §3.1).
    pub(crate) records: Vec<Tlsa>,
    /// RFC 7672 §3.2.2's reference identifiers for DANE-TA chains.
    pub(crate) ta_names: Vec<ServerName<'static>>,
    pub(crate) algorithms:
        &'static [&'static dyn rustls::pki_types::SignatureVerificationAlgorithm],
}

/// What a record's selector picks out of a DER certificate (RFC 6698 §2.1.2).
fn selected(cert: &[u8], selector: TlsaSelector) -> Option<&[u8]> {
    match selector {
        TlsaSelector::Cert => Some(cert),
        TlsaSelector::Spki => der::spki(cert).map(|e| e.whole),
        TlsaSelector::Other(_) => None,
    }
}

/// Whether `record` matches `cert` (RFC 6698 §2.1.3).
pub(crate) fn matches(record: &Tlsa, cert: &[u8]) -> bool {
    let Some(data) = selected(cert, record.selector) else {
        return false;
    };
    match record.matching {
        TlsaMatching::Full => data == record.data.as_slice(),
        TlsaMatching::Sha256 => digest::digest(&digest::SHA256, data).as_ref() == record.data,
        TlsaMatching::Sha512 => digest::digest(&digest::SHA512, data).as_ref() == record.data,
        TlsaMatching::Other(_) => false,
    }
}

impl Dane {
    fn ta_records(&self) -> impl Iterator<Item = &Tlsa> {
        self.records.iter().filter(|r| r.usage == TlsaUsage::DaneTa)
    }

    /// RFC 7672 §3.2: the chain to a DANE-TA anchor, its dates, and the leaf's name.
    fn check_ta(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Outcome {
        let presented = || std::iter::once(end_entity).chain(intermediates);
        // `2 0 0` carries the whole anchor certificate, which the server need not send
        // (RFC 7671 §5.2.2).
        let full_certs: Vec<CertificateDer<'_>> = self
            .ta_records()
            .filter(|r| (r.selector, r.matching) == (TlsaSelector::Cert, TlsaMatching::Full))
            .map(|r| CertificateDer::from(r.data.as_slice()))
            .collect();
        let mut anchors: Vec<TrustAnchor<'_>> = full_certs
            .iter()
            .filter_map(|c| anchor_from_trusted_cert(c).ok())
            .collect();
        // A presented certificate matching a record is the anchor, whatever signed it.
        for cert in presented() {
            if self.ta_records().any(|r| matches(r, cert)) {
                anchors.extend(anchor_from_trusted_cert(cert).ok());
            }
        }
        // `2 1 0` carries the anchor's key alone: an anchor with that key for each issuer
        // name in the chain; the signature on the issued certificate proves the match.
        for record in self
            .ta_records()
            .filter(|r| (r.selector, r.matching) == (TlsaSelector::Spki, TlsaMatching::Full))
        {
            let Some(spki) = der::sequence(&record.data) else {
                continue;
            };
            for cert in presented() {
                if let Some(issuer) = der::issuer(cert) {
                    anchors.push(TrustAnchor {
                        subject: Der::from_slice(issuer.contents),
                        subject_public_key_info: Der::from_slice(spki.contents),
                        name_constraints: None,
                    });
                }
            }
        }
        if anchors.is_empty() {
            return Err(TlsResultType::ValidationFailure);
        }
        let leaf = EndEntityCert::try_from(end_entity).map_err(|e| webpki_result_type(&e))?;
        leaf.verify_for_usage(
            self.algorithms,
            &anchors,
            intermediates,
            now,
            KeyUsage::server_auth(),
            None,
            None,
        )
        .map_err(|e| webpki_result_type(&e))?;
        // RFC 7672 §3.2.3: any reference identifier; webpki takes a wildcard only as the
        // whole left-most label, matching one label. It reads DNS-IDs (subjectAltName)
        // only, never the subject's CN, which RFC 7672 §3.2.3 still allows as a
        // fallback: a DANE-TA leaf without a subjectAltName fails here.
        if self
            .ta_names
            .iter()
            .any(|name| leaf.verify_is_valid_for_subject_name(name).is_ok())
        {
            Ok(Verification::Verified)
        } else {
            Err(TlsResultType::CertificateHostMismatch)
        }
    }
}

impl CertCheck for Dane {
    fn check(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Outcome {
        // RFC 7672 §3.1.1: DANE-EE is the key (or certificate) alone; names and
        // dates do not apply.
        let ee = |r: &Tlsa| r.usage == TlsaUsage::DaneEe && matches(r, end_entity);
        if self.records.iter().any(ee) {
            return Ok(Verification::Verified);
        }
        if self.ta_records().next().is_some() {
            return self.check_ta(end_entity, intermediates, now);
        }
        Err(TlsResultType::ValidationFailure)
    }
}
