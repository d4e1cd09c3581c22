package store

import (
	"errors"
	"strings"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/emailaddr"
)

// CheckEmail puts *email, when email is not nil, in emailaddr's canonical
// form (NFC, lower-cased, the domain mapped by IDNA), then runs validate,
// the input's own validation (nil for none), and adds emailaddr's refusal
// (mixed scripts, a domain IDNA refuses) to its EINVALID error's fields,
// or makes one. The store applies it to every email it writes, so that
// every path (the API, kura users create, an application) stores the one
// form; package accounts calls it with the input's validation before it
// hashes a password. It is here rather than in the domain package, which
// stays standard-library only.
func CheckEmail(email *string, validate func() error) error {
	var msg string
	if email != nil {
		*email, msg = emailaddr.Canonical(*email)
	}
	var err error
	if validate != nil {
		err = validate()
	}
	if msg == "" {
		return err
	}
	var ke *kura.Error
	if errors.As(err, &ke) && ke.Code == kura.EINVALID && ke.Fields != nil {
		if ke.Fields["email"] == "" {
			ke.Fields["email"] = msg
		}
		return err
	}
	if err != nil {
		return err
	}
	return &kura.Error{Code: kura.EINVALID, Message: "Some fields are invalid.", Fields: map[string]string{"email": msg}}
}

// canonicalLogin is a login's email in the form it was stored in; one
// emailaddr refuses matches no account.
func canonicalLogin(login string) string {
	email, _ := emailaddr.Canonical(login)
	return email
}

// LoginForm is the one form of a login that every spelling the store
// matches shares: an email's canonical form, a username lower-cased (the
// engines compare usernames case-insensitively, and a username is ASCII):
// what kura.UnknownAccount takes for a login that matches no one.
func LoginForm(login string) string {
	if strings.Contains(login, "@") {
		return canonicalLogin(login)
	}
	return strings.ToLower(login)
}
