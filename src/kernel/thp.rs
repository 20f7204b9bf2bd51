//! Which folio size an anonymous fault gets, predicted from the THP settings and the VMA.
